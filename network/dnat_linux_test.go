package network

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/lade-build/lade/internal/testutil"
)

// TestDNATRules: which binds get kernel DNAT (every address, one
// non-loopback IPv4 address) and which only the proxy (loopback, IPv6,
// internal networks).
func TestDNATRules(t *testing.T) {
	tests := []struct {
		hostIP   string
		internal bool
		want     int // rules: prerouting and output
	}{
		{"", false, 2},
		{"0.0.0.0", false, 2},
		{"10.1.2.3", false, 2},
		{"127.0.0.1", false, 0},
		{"::1", false, 0},
		{"::", false, 0},
		{"", true, 0},
	}
	for _, tt := range tests {
		n := &Network{Name: "n", ID: "id1", Bridge: "br-id1", Internal: tt.internal,
			Subnet: netip.MustParsePrefix("10.9.0.0/24"), Gateway: netip.MustParseAddr("10.9.0.1")}
		st := &state{Networks: []*Network{n}, Endpoints: []*Endpoint{{
			Container: "c", Network: "id1", IP: netip.MustParseAddr("10.9.0.2"),
			Ports: []PortMap{{Proto: "tcp", HostIP: tt.hostIP, HostPort: 8080, Port: 80}},
		}}}
		if got := len(dnatRules(st)); got != tt.want {
			t.Errorf("dnatRules(HostIP %q, internal %v) = %d rules, want %d", tt.hostIP, tt.internal, got, tt.want)
		}
	}
}

// TestPublishDNAT: a port published on every address reaches the server
// in the container's namespace from the host's own (gateway) address, by
// DNAT alone (no proxy here), for tcp and udp, through nftables and
// through the iptables fallback; the rules go with Detach.
func TestPublishDNAT(t *testing.T) {
	testutil.RequireRoot(t)
	for _, tt := range []struct {
		name     string
		iptables bool
	}{{"nftables", false}, {"iptables", true}} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.iptables {
				// The host's iptables (on this host's nft backend or
				// legacy), as where nf_tables is missing.
				if _, err := exec.LookPath("iptables-restore"); err != nil {
					testutil.Unavailable(t, "needs iptables: apt-get install iptables")
				}
				forceIPTables, iptablesBin = true, "iptables"
				t.Cleanup(func() { forceIPTables, iptablesBin = false, "" })
				dropNewTables(t)
			}
			checkPublish(t, openTestStore(t))
		})
	}
}

// dropNewTables deletes, after the test, the tables of family ip that
// iptables' nft backend made for its built-in chains (filter, nat): the
// test's rules are gone by then, and the host had none of them before.
func dropNewTables(t *testing.T) {
	c := nftConn(t)
	before, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		after, _ := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
		for _, tb := range after {
			// Only these: other tests may be making lade tables now.
			made := tb.Name == "filter" || tb.Name == "nat"
			if made && !slices.ContainsFunc(before, func(b *nftables.Table) bool { return b.Name == tb.Name }) {
				c.DelTable(tb)
			}
		}
		_ = c.Flush()
	})
}

func checkPublish(t *testing.T, s *Store) {
	ctx := context.Background()
	if _, err := s.Create(ctx, CreateOptions{Name: "ladetest-dnat", Subnet: "10.231.9.0/24"}); err != nil {
		t.Fatal(err)
	}
	tcpPort, udpPort := freePort(t, "tcp"), freePort(t, "udp")
	a, err := s.Attach(ctx, AttachOptions{Network: "ladetest-dnat", Container: testID(1), Name: "web",
		Alive: func(string) bool { return true },
		Ports: []PortMap{{Proto: "tcp", HostPort: tcpPort, Port: 8080}, {Proto: "udp", HostPort: udpPort, Port: 8080}}})
	if err != nil {
		t.Fatal(err)
	}
	detached := false
	defer func() {
		if !detached {
			a.Detach(ctx)
		}
	}()
	pc, ln, err := listenIn(a.ns, a.Endpoint.IP.String()+":8080")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	defer pc.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.WriteString(c, "hello")
			c.Close()
		}
	}()
	go func() {
		buf := make([]byte, 64)
		n, from, err := pc.ReadFrom(buf)
		if err == nil {
			pc.WriteTo(append([]byte("re:"), buf[:n]...), from)
		}
	}()
	host := a.Network.Gateway.String()
	for _, tt := range []struct {
		proto string
		port  int
		send  string
		want  string
	}{
		{"tcp", tcpPort, "", "hello"},
		{"udp", udpPort, "ping", "re:ping"},
	} {
		if got := exchange(t, tt.proto, net.JoinHostPort(host, strconv.Itoa(tt.port)), tt.send); got != tt.want {
			t.Errorf("%s to %s:%d = %q, want %q", tt.proto, host, tt.port, got, tt.want)
		}
	}
	if err := a.Detach(ctx); err != nil {
		t.Fatal(err)
	}
	detached = true
	if st, _ := s.read(); len(dnatRules(st)) != 0 || strings.Contains(ipRestore(s.table, st), "DNAT") {
		t.Errorf("DNAT rules left after detach")
	}
}

func freePort(t *testing.T, proto string) int {
	t.Helper()
	var addr net.Addr
	if proto == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = c.LocalAddr()
		c.Close()
	} else {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = l.Addr()
		l.Close()
	}
	_, p, _ := net.SplitHostPort(addr.String())
	n, _ := strconv.Atoi(p)
	return n
}

// exchange sends send (if any) to addr and returns what comes back.
func exchange(t *testing.T, proto, addr, send string) string {
	t.Helper()
	c, err := net.DialTimeout(proto, addr, 5*time.Second)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if send != "" {
		io.WriteString(c, send)
	}
	var b strings.Builder
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	b.Write(buf[:n])
	return b.String()
}

// TestIPRestore: the iptables fallback's rules say what the nftables
// ones do: isolation, internal networks, masquerade, and DNAT for the
// binds that get it.
func TestIPRestore(t *testing.T) {
	n1 := &Network{Name: "n1", ID: "id1", Bridge: "br-1", Subnet: netip.MustParsePrefix("10.9.1.0/24")}
	n2 := &Network{Name: "n2", ID: "id2", Bridge: "br-2", Subnet: netip.MustParsePrefix("10.9.2.0/24"), Internal: true}
	st := &state{Networks: []*Network{n1, n2}, Endpoints: []*Endpoint{{
		Container: "c", Network: "id1", IP: netip.MustParseAddr("10.9.1.2"),
		Ports: []PortMap{{Proto: "tcp", HostPort: 8080, Port: 80}, {Proto: "udp", HostIP: "127.0.0.1", HostPort: 53, Port: 53}, {Proto: "udp", HostIP: "10.0.0.5", HostPort: 5353, Port: 53}},
	}}}
	got := ipRestore("lade", st)
	tests := []struct {
		line string
		want bool
	}{
		{"-A LADE-FWD -i br-1 -o br-2 -j DROP", true},
		{"-A LADE-FWD -i br-2 ! -o br-2 -j DROP", true},
		{"-A LADE-FWD -i br-1 ! -o br-1 -j DROP", false},
		{"-A LADE-POST -s 10.9.1.0/24 ! -o br-1 -j MASQUERADE", true},
		{"-A LADE-POST -s 10.9.2.0/24 ! -o br-2 -j MASQUERADE", false},
		{"-A LADE-PRE -m addrtype --dst-type LOCAL -p tcp --dport 8080 -j DNAT --to-destination 10.9.1.2:80", true},
		{"-A LADE-OUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -p tcp --dport 8080 -j DNAT --to-destination 10.9.1.2:80", true},
		{"-A LADE-PRE -d 10.0.0.5 -p udp --dport 5353 -j DNAT --to-destination 10.9.1.2:53", true},
		{"--dport 53 ", false},
	}
	for _, tt := range tests {
		if strings.Contains(got, tt.line) != tt.want {
			t.Errorf("ipRestore has %q: %v, want %v\n%s", tt.line, !tt.want, tt.want, got)
		}
	}
}
