package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/userns"
	"github.com/lade-build/lade/network"
)

// NetSettings are the options on a container's network and name
// resolution: docker's --network-alias, --add-host, --dns*, --mac-address.
type NetSettings struct {
	Aliases    []string `json:"aliases,omitempty"`
	ExtraHosts []string `json:"extraHosts,omitempty"` // NAME:IP, IP may be host-gateway
	DNS        []string `json:"dns,omitempty"`
	DNSSearch  []string `json:"dnsSearch,omitempty"`
	DNSOptions []string `json:"dnsOptions,omitempty"`
	MAC        string   `json:"macAddress,omitempty"`
	// Connections are the further networks `network connect` put it on:
	// it joins them at every start.
	Connections []Connection `json:"connections,omitempty"`
}

// NetworkState is where a running container is on its network.
type NetworkState struct {
	Name       string `json:"name"`
	IPAddress  string `json:"ipAddress"`
	PrefixLen  int    `json:"prefixLen"`
	Gateway    string `json:"gateway"`
	MacAddress string `json:"macAddress"`
}

// networkMode is docker's --network value as lade keeps it: bridge (the
// default network), none, host, or a user-defined network's name.
// private, lade's former default, is loopback only: none. Rootless the
// default network is slirp4netns's (attachNetwork), and user-defined
// networks are refused.
func networkMode(n string) (string, error) {
	switch {
	case n == "" || n == "default" || n == network.DefaultName:
		return network.DefaultName, nil
	case n == "private" || n == "none":
		return "none", nil
	case n == "host":
		return n, nil
	case n == containerMode:
		return "", fmt.Errorf("network %q: name the container", n)
	case userns.Rootless() && !strings.HasPrefix(n, containerMode):
		return "", fmt.Errorf("network %s: user-defined networks need root (rootless, containers get the default network through slirp4netns; or --network none, host or container:NAME)", n)
	}
	return n, nil
}

// bridged says whether c runs on a bridge network.
func bridged(c *Config) bool {
	return c.Network != "host" && c.Network != "none" && sharedWith(c) == ""
}

// checkNetSettings checks the network options against the network mode
// and keeps --add-host entries in their one form, NAME:IP.
func checkNetSettings(c *Config) error {
	n := c.Net
	if len(n.Aliases) > 0 && (!bridged(c) || c.Network == network.DefaultName) {
		return errors.New("network-scoped aliases are only supported for user-defined networks")
	}
	if n.MAC != "" && !bridged(c) {
		return errors.New("conflicting options: mac-address and the network mode")
	}
	for i, h := range n.ExtraHosts {
		v, err := network.ParseExtraHost(h)
		if err != nil {
			return err
		}
		c.Net.ExtraHosts[i] = v
	}
	return nil
}

func (s *Store) networks() (*network.Store, error) {
	return network.Open(filepath.Join(s.root, "networks"))
}

// resolveNetwork checks that c's user-defined network (or the container
// whose network it joins) and its further networks exist and keeps their
// names (IDs).
func (s *Store) resolveNetwork(ctx context.Context, c *Config, o *CreateOptions) error {
	if len(c.Net.Connections) > 0 && (!bridged(c) || userns.Rootless()) {
		return fmt.Errorf("network %s: only a container on a bridge network can be on further networks", c.Network)
	}
	if sharedWith(c) != "" {
		return s.resolveShared(c, o)
	}
	if !bridged(c) || c.Network == network.DefaultName && len(c.Net.Connections) == 0 {
		return nil
	}
	ns, err := s.networks()
	if err != nil {
		return err
	}
	if c.Network != network.DefaultName {
		n, err := ns.Get(ctx, c.Network)
		if err != nil {
			return err
		}
		c.Network = n.Name
	}
	conns := slices.Clone(c.Net.Connections)
	for i, x := range conns {
		n, err := ns.Get(ctx, x.Network)
		if err != nil {
			return err
		}
		if n.Name == c.Network || slices.ContainsFunc(conns[:i], func(y Connection) bool { return y.Network == n.Name }) {
			return fmt.Errorf("container is already on network %s", n.Name)
		}
		conns[i].Network = n.Name
	}
	c.Net.Connections = conns
	return nil
}

// attachNetwork puts a bridged container on its network for one run, with
// kernel DNAT for its published ports, and starts the embedded DNS server
// on user-defined networks; nil otherwise.
func (s *Store) attachNetwork(ctx context.Context, c *Config, ports []Port, warn io.Writer) (*network.Attachment, error) {
	if !bridged(c) {
		return nil, nil
	}
	if userns.Rootless() {
		return s.attachSlirp(ctx, c, warn)
	}
	ns, err := s.networks()
	if err != nil {
		return nil, err
	}
	att, err := ns.Attach(ctx, network.AttachOptions{
		Network: c.Network, Container: c.ID, Name: c.Name, Aliases: c.Net.Aliases, MAC: c.Net.MAC,
		Alive: s.supervised, Ports: portMaps(ports),
	})
	if errors.Is(err, unix.EPERM) {
		return nil, fmt.Errorf("network %s: %w (bridge networks need root in the host's network namespace)", c.Network, err)
	}
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", c.Network, err)
	}
	if err := s.connectAll(ctx, c, att); err != nil {
		s.detachNetwork(ctx, att)
		return nil, err
	}
	if err := s.startNetwork(c, att); err != nil {
		s.detachNetwork(ctx, att)
		return nil, err
	}
	return att, nil
}

// attachSlirp puts a rootless container on the default network, which is
// slirp4netns's; without slirp4netns it has loopback only, with a warning.
func (s *Store) attachSlirp(ctx context.Context, c *Config, warn io.Writer) (*network.Attachment, error) {
	att, err := network.AttachSlirp(ctx)
	if errors.Is(err, network.ErrNoSlirp) {
		fmt.Fprintf(warn, "WARNING: rootless networking: %v: the container has loopback only\n", err)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rootless networking: %w", err)
	}
	if err := s.startNetwork(c, att); err != nil {
		s.detachNetwork(ctx, att)
		return nil, err
	}
	return att, nil
}

// portMaps are ports as the network package keeps them.
func portMaps(ports []Port) []network.PortMap {
	var out []network.PortMap
	for _, p := range ports {
		out = append(out, network.PortMap{Proto: p.Proto, HostIP: p.HostIP, HostPort: p.HostPort, Port: p.Port})
	}
	return out
}

// startNetwork starts, on a user-defined network, c's DNS server.
func (s *Store) startNetwork(c *Config, att *network.Attachment) error {
	if att.Network.Default() {
		return nil
	}
	rc, err := s.resolv(c, att)
	if err != nil {
		return err
	}
	return att.StartDNS(rc.Upstream)
}

// networkState is where att puts the container, as its state records it
// while the process runs (nil att: nowhere). It is written with the
// running status, and cleared with the exit, in the same writes.
func networkState(att *network.Attachment) *NetworkState {
	if att == nil {
		return nil
	}
	n, e := att.Network, att.Endpoint
	return &NetworkState{
		Name: n.Name, IPAddress: e.IP.String(), PrefixLen: n.Subnet.Bits(),
		Gateway: n.Gateway.String(), MacAddress: e.MAC,
	}
}

// detachNetwork takes c off its network after a run; nil att is none.
func (s *Store) detachNetwork(ctx context.Context, att *network.Attachment) {
	if att == nil {
		return
	}
	_ = att.Detach(context.WithoutCancel(ctx))
}

// releaseNetwork drops a removed container's addresses, if it ever had one.
func (s *Store) releaseNetwork(id string) error {
	if _, err := os.Stat(filepath.Join(s.root, "networks")); err != nil {
		return nil
	}
	ns, err := s.networks()
	if err != nil {
		return err
	}
	return ns.Release(context.Background(), id)
}

// resolv is c's resolv.conf: the embedded server's on user-defined
// networks.
func (s *Store) resolv(c *Config, att *network.Attachment) (network.Resolv, error) {
	if sharedWith(c) != "" {
		content, err := s.sharedEtc(c, "resolv.conf")
		return network.Resolv{Content: content}, err
	}
	return network.ResolvConf(network.ResolvOptions{
		HostNetwork: c.Network == "host",
		Embedded:    att != nil && !att.Network.Default(),
		DNS:         c.Net.DNS, Search: c.Net.DNSSearch, Options: c.Net.DNSOptions,
	})
}

// hostsFile is c's /etc/hosts: localhost, the container's own address
// (or 127.0.1.1 without one) under its host name, and --add-host lines.
func (s *Store) hostsFile(c *Config, att *network.Attachment) (string, error) {
	if sharedWith(c) != "" {
		return s.sharedEtc(c, "hosts")
	}
	var b strings.Builder
	if c.Network == "host" {
		h, err := os.ReadFile("/etc/hosts")
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		b.Write(h)
	} else {
		b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
		own := "127.0.1.1"
		if att != nil {
			own = att.Endpoint.IP.String()
		}
		fmt.Fprintf(&b, "%s\t%s\n", own, c.Hostname)
	}
	b.WriteString(network.HostsLines(c.Net.ExtraHosts, hostGateway(att)))
	return b.String(), nil
}

// hostGateway is the host as the container reaches it: its network's
// gateway, else (host or no network) the host's loopback.
func hostGateway(att *network.Attachment) string {
	if att != nil {
		return att.Network.Gateway.String()
	}
	return "127.0.0.1"
}
