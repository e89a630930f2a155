package main

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/lade-build/lade/internal/testutil"
)

// TestNetworkNames: containers on a user-defined network reach each
// other by name, alias and short ID; one on another network cannot; one
// that joins a container's network shares its loopback and names.
func TestNetworkNames(t *testing.T) {
	root := newRoot(t)
	createNetworks(t, root, "ladetest-n1", "ladetest-n2")
	id := runDetached(t, root, "--name", "web", "--network", "ladetest-n1", "--network-alias", "site", "busybox", "sh", "-c",
		"mkdir /www && echo hello-web > /www/index.html && exec httpd -f -p 8080 -h /www")
	tests := []struct {
		name, network, host string
		reach               bool
	}{
		{"by name", "ladetest-n1", "web", true},
		{"by alias", "ladetest-n1", "site", true},
		{"by short ID", "ladetest-n1", id[:12], true},
		{"other network", "ladetest-n2", "web", false},
		{"default network", "bridge", "web", false},
		{"joined, on loopback", "container:web", "127.0.0.1", true},
		{"joined, by alias", "container:web", "site", true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r result
			// httpd may still be starting: a few bounded tries.
			for try := 0; try < 10; try++ {
				r = lade(t, root, "", httpFrom(tc.network, tc.host, "8080")...)
				if r.code == 0 || !tc.reach || i > 0 {
					break
				}
			}
			if got := r.code == 0 && strings.HasSuffix(r.stdout, "\r\n\r\nhello-web\n"); got != tc.reach {
				t.Errorf("GET http://%s:8080/ from %s: reached=%v, want %v (%+v)", tc.host, tc.network, got, tc.reach, r)
			}
		})
	}
	// By address too: names are not the only thing the other network lacks.
	ip := inspectNetworkIP(t, root, "ladetest-n1", id)
	if n := inspectContainer(t, root, "web").NetworkSettings.Networks["ladetest-n1"]; n == nil || n.IPAddress != ip {
		t.Errorf("container inspect: NetworkSettings.Networks[ladetest-n1] %+v, want %s", n, ip)
	}
	r := lade(t, root, "", httpFrom("ladetest-n2", ip, "8080")...)
	if strings.Contains(r.stdout, "hello-web") {
		t.Errorf("a container on ladetest-n2 reached web at %s: %+v", ip, r)
	}
	if r := lade(t, root, "", "network", "rm", "ladetest-n1"); r.code == 0 {
		t.Errorf("network rm of a network in use succeeded")
	}
	// Connected to ladetest-n2 too, web is found there, by its alias as
	// well; disconnected, no more.
	if r := lade(t, root, "", "network", "connect", "--alias", "www", "ladetest-n2", "web"); r.code != 0 {
		t.Fatalf("network connect: %+v", r)
	}
	for _, host := range []string{"web", "www"} {
		if r := lade(t, root, "", httpFrom("ladetest-n2", host, "8080")...); !strings.HasSuffix(r.stdout, "hello-web\n") {
			t.Errorf("connected: GET http://%s:8080/ from ladetest-n2: %+v", host, r)
		}
	}
	if r := lade(t, root, "", "network", "disconnect", "ladetest-n2", "web"); r.code != 0 {
		t.Fatalf("network disconnect: %+v", r)
	}
	if r := lade(t, root, "", httpFrom("ladetest-n2", "web", "8080")...); strings.Contains(r.stdout, "hello-web") {
		t.Errorf("disconnected: web still reached from ladetest-n2: %+v", r)
	}
}

// createNetworks makes the user-defined networks names on root.
func createNetworks(t *testing.T, root string, names ...string) {
	t.Helper()
	for _, n := range names {
		if r := lade(t, root, "", "network", "create", n); r.code != 0 {
			t.Fatalf("network create %s: %+v", n, r)
		}
	}
}

// httpFrom is a run of a container on network that GETs / from host:port
// with nc (Debian's static busybox wget crashes in getaddrinfo).
func httpFrom(network, host, port string) []string {
	return []string{"run", "--rm", "--network", network, "busybox", "sh", "-c",
		fmt.Sprintf(`printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 %s %s`, host, port)}
}

func inspectNetworkIP(t *testing.T, root, network, id string) string {
	t.Helper()
	r := lade(t, root, "", "network", "inspect", network)
	i := strings.Index(r.stdout, id)
	j := strings.Index(r.stdout[max(i, 0):], `"IPv4Address": "`)
	if i < 0 || j < 0 {
		t.Fatalf("network inspect %s: no endpoint of %s: %+v", network, id, r)
	}
	rest := r.stdout[i+j+len(`"IPv4Address": "`):]
	return rest[:strings.Index(rest, `/`)]
}

// TestDefaultBridge: a container on the default network reaches a server
// on the host's own address (one on an --internal network does not) and
// publishes a port on the host's loopback.
func TestDefaultBridge(t *testing.T) {
	root := newRoot(t)
	host, hport := testutil.ServeOnHost(t, "from-host")
	if r := lade(t, root, "", "network", "create", "--internal", "ladetest-int"); r.code != 0 {
		t.Fatalf("network create --internal: %+v", r)
	}
	for _, tc := range []struct {
		network string
		reach   bool
	}{{"bridge", true}, {"ladetest-int", false}} {
		r := lade(t, root, "", httpFrom(tc.network, host, hport)...)
		if got := r.code == 0 && strings.HasSuffix(r.stdout, "\r\n\r\nfrom-host"); got != tc.reach {
			t.Errorf("GET from the host's %s on %s: reached=%v, want %v (%+v)", net.JoinHostPort(host, hport), tc.network, got, tc.reach, r)
		}
	}
	r := lade(t, root, "", "run", "--rm", "busybox", "sh", "-c", "ip route | grep default; cat /etc/resolv.conf")
	if r.code != 0 || !strings.Contains(r.stdout, "default via") || strings.Contains(r.stdout, "127.0.0.11") {
		t.Errorf("default network: route and resolv.conf: %+v", r)
	}
	port := freePort(t)
	runDetached(t, root, "--name", "pub", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), "busybox", "sh", "-c",
		"mkdir /www && echo published > /www/index.html && exec httpd -f -p 8080 -h /www")
	var body string
	testutil.Poll(t, "httpd answering on the published port", func() bool {
		var ok bool
		body, ok = httpGet(fmt.Sprintf("http://127.0.0.1:%d/", port))
		return ok
	})
	if body != "published\n" {
		t.Errorf("published port body %q", body)
	}
}

// TestRunEtcOptions: --add-host, --dns, --dns-search, --dns-option and
// --hostname land in the container's /etc files.
func TestRunEtcOptions(t *testing.T) {
	root := newRoot(t)
	if r := lade(t, root, "", "network", "create", "ladetest-etc"); r.code != 0 {
		t.Fatalf("network create: %+v", r)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"default network", []string{"--add-host", "foo:10.1.2.3", "--dns", "10.9.9.9", "--dns-search", "example.test", "--dns-option", "ndots:2", "--hostname", "box"},
			[]string{"10.1.2.3\tfoo", "nameserver 10.9.9.9", "search example.test", "options ndots:2", "\tbox\n"}},
		{"host-gateway", []string{"--add-host", "gw:host-gateway"}, []string{"\tgw\n"}},
		{"mac address", []string{"--mac-address", "02:42:0a:e1:a0:99", "busybox", "cat", "/sys/class/net/eth0/address"}, []string{"02:42:0a:e1:a0:99\n"}},
		{"user network", []string{"--network", "ladetest-etc", "--dns", "10.9.9.9"}, []string{"nameserver 127.0.0.11", "ExtServers: [10.9.9.9]"}},
		{"none", []string{"--network", "none", "--add-host", "foo:10.1.2.3"}, []string{"10.1.2.3\tfoo", "127.0.1.1\t"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "--rm"}, tc.args...)
			if !slices.Contains(args, "busybox") {
				args = append(args, "busybox", "cat", "/etc/hosts", "/etc/resolv.conf")
			}
			r := lade(t, root, "", args...)
			for _, w := range tc.want {
				if r.code != 0 || !strings.Contains(r.stdout, w) {
					t.Errorf("missing %q: %+v", w, r)
				}
			}
		})
	}
}

// TestNetworkCommands: create, ls with -q, --filter and --format,
// inspect, rm and prune, and the errors docker gives.
func TestNetworkCommands(t *testing.T) {
	root := newRoot(t)
	tests := []struct {
		args []string
		code int
		out  string
		not  string // must not be in the output
	}{
		{[]string{"network", "create", "--subnet", "10.231.0.0/24", "--label", "team=a", "ladetest-a"}, 0, "", ""},
		{[]string{"network", "create", "--internal", "ladetest-b"}, 0, "", ""},
		{[]string{"network", "create", "ladetest-a"}, 1, "already exists", ""},
		{[]string{"network", "create", "--subnet", "10.231.0.128/25", "ladetest-c"}, 1, "overlaps", ""},
		{[]string{"network", "create", "host"}, 1, "pre-defined", ""},
		{[]string{"network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Label \"team\"}}"}, 0, "ladetest-a bridge a\n", ""},
		{[]string{"network", "ls", "--filter", "label=team=a", "--format", "{{.Name}}"}, 0, "ladetest-a\n", ""},
		{[]string{"network", "ls", "--filter", "name=test-b", "--format", "{{.Name}} {{.Internal}}"}, 0, "ladetest-b true\n", ""},
		{[]string{"network", "ls"}, 0, "bridge", ""},
		{[]string{"network", "inspect", "ladetest-a"}, 0, `"Gateway": "10.231.0.1"`, ""},
		{[]string{"network", "rm", "bridge"}, 1, "pre-defined", ""},
		{[]string{"network", "rm", "ladetest-a"}, 0, "ladetest-a", ""},
		{[]string{"network", "create", "ladetest-kept"}, 0, "", ""},
		// A stopped container on it keeps a network from prune.
		{[]string{"run", "--name", "stopped", "--network", "ladetest-kept", "busybox", "true"}, 0, "", ""},
		{[]string{"network", "prune"}, 0, "ladetest-b", "ladetest-kept"},
		{[]string{"network", "ls", "--filter", "type=custom", "--format", "{{.Name}}"}, 0, "ladetest-kept\n", "ladetest-b"},
		{[]string{"rm", "stopped"}, 0, "", ""},
		{[]string{"system", "prune", "-f"}, 0, "Deleted Networks:\nladetest-kept\n", ""},
		{[]string{"network", "ls", "-q", "--filter", "type=custom"}, 0, "", "\n"},
	}
	for _, tc := range tests {
		r := lade(t, root, "", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.out) || (tc.not != "" && strings.Contains(r.stdout, tc.not)) {
			t.Errorf("lade %s = %+v, want code %d, %q and not %q", strings.Join(tc.args, " "), r, tc.code, tc.out, tc.not)
		}
	}
}

// TestDNSForwarding: names the network does not know go to the --dns
// servers: forwarded by the embedded server on a user-defined network,
// asked directly through the gateway on the default one. The server is
// the test's, on the host's own address.
func TestDNSForwarding(t *testing.T) {
	root := newRoot(t)
	addr := testutil.HostAddr(t)
	pc, err := net.ListenPacket("udp4", net.JoinHostPort(addr, "53"))
	if err != nil {
		t.Skipf("port 53 of %s is taken: %v", addr, err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.Question[0].Name == "ext.lade-test." && r.Question[0].Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(10, 1, 1, 1)})
		}
		_ = w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	if r := lade(t, root, "", "network", "create", "ladetest-fwd"); r.code != 0 {
		t.Fatalf("network create: %+v", r)
	}
	for _, network := range []string{"ladetest-fwd", "bridge"} {
		r := lade(t, root, "", "run", "--rm", "--network", network, "--dns", addr, "busybox", "nslookup", "-type=a", "ext.lade-test")
		if r.code != 0 || !strings.Contains(r.stdout, "Address: 10.1.1.1") {
			t.Errorf("nslookup ext.lade-test on %s: %+v", network, r)
		}
	}
}
