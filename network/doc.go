// Package network gives lade's containers docker's bridge networks without
// a daemon.
//
// A Network is a record under <root>/networks/networks.json: a name, a
// subnet picked from docker's private pools (172.17.0.0/16, 172.18..,
// then 192.168.x.0/24) that no host route or other network uses, a
// gateway, and the Linux bridge that carries it. The default network
// `bridge` is recorded on first use. Endpoints (a running container's
// address on a network) live in the same file; every change takes the
// file's flock, so two concurrent runs never get the same address.
// Addresses are given out round-robin, as docker does, so a new container
// does not meet the lingering veth of a stopped one.
//
// Lifecycle: Attach, called by a container's supervisor before the
// container starts, records an endpoint, makes a network namespace, sets
// up the bridge (created idempotently), the nftables table that
// masquerades and isolates every network of the root and DNATs the
// endpoints' published ports (AttachOptions.Ports; each rule is tagged
// with what it does, so the table is rewritten only when it differs from
// what the store needs), and a veth pair with eth0 inside the namespace,
// its address and default route. On user-defined networks StartDNS then
// serves names on 127.0.0.11:53 inside it (ResolvConf makes the matching
// resolv.conf). Detach, when the container's process ended, stops the
// server, drops the namespace (the kernel then deletes the veth),
// releases the addresses and drops the DNAT rules. Connect and
// Disconnect add and remove a running container's further endpoints
// (ethN, no default route); Attachment.Connect does so before it starts.
// An endpoint whose supervisor died (SIGKILL) is swept, with its rules,
// by the next Attach; a network's bridge and rules go with `network rm`.
//
// Where the kernel has no nf_tables the same rules are iptables chains of
// the root's own, written with iptables-restore (iptables_linux.go).
//
// Rootless, AttachSlirp makes the namespace and runs slirp4netns on it
// for outbound access; nothing of it is in the store.
//
// Create, Remove, Connect and Disconnect record docker's network events
// in the root's event log (package events; the store lives in
// <root>/networks).
package network
