package network

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
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
// DNAT alone (no proxy here), for tcp and udp; the rules go with Detach.
func TestPublishDNAT(t *testing.T) {
	s := openTestStore(t)
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
	if st, _ := s.read(); ensureRules(s.table, st) != nil || len(dnatRules(st)) != 0 {
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
