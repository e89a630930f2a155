package network

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"github.com/lade-build/lade/internal/testutil"
)

func openTestStore(t *testing.T) *Store {
	t.Helper()
	testutil.RequireRoot(t)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Teardown(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func nftConn(t *testing.T) *nftables.Conn {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testID(i int) string { return fmt.Sprintf("e1a%02x%059x", i, 0) }

// eth0 is the address and whether there is a default route in a's
// namespace.
func eth0(t *testing.T, a *Attachment) (string, bool) {
	t.Helper()
	h, err := netlink.NewHandleAt(a.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := h.AddrList(l, netlink.FAMILY_V4)
	if err != nil || len(addrs) != 1 {
		t.Fatalf("eth0 addresses %v, %v", addrs, err)
	}
	routes, err := h.RouteList(l, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	def := false
	for _, r := range routes {
		def = def || r.Gw != nil
	}
	return addrs[0].IPNet.String(), def
}

// TestAttachConcurrent: runs attaching at once never share an address,
// and each gets its veth, address and route.
func TestAttachConcurrent(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, CreateOptions{Name: "ladetest-conc", Subnet: "10.231.7.0/24"}); err != nil {
		t.Fatal(err)
	}
	const n = 6
	atts := make([]*Attachment, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			atts[i], errs[i] = s.Attach(ctx, AttachOptions{Network: "ladetest-conc", Container: testID(i), Name: fmt.Sprint("c", i), Alive: func(string) bool { return true }})
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, a := range atts {
		if errs[i] != nil {
			t.Fatalf("attach %d: %v", i, errs[i])
		}
		addr, def := eth0(t, a)
		if seen[addr] || !def {
			t.Errorf("attach %d: eth0 %s (default route %v); seen %v", i, addr, def, seen)
		}
		seen[addr] = true
	}
	for _, a := range atts {
		if err := a.Detach(ctx); err != nil {
			t.Error(err)
		}
	}
	if st, _ := s.read(); len(st.Endpoints) != 0 {
		t.Errorf("endpoints left after detach: %+v", st.Endpoints)
	}
}

// TestAttachSweepsDead: the address of a container whose supervisor died
// without detaching is taken back by the next attach; an internal network
// gets no default route; missing rules are repaired, and the dead one's
// DNAT rules removed.
func TestAttachSweepsDead(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, CreateOptions{Name: "ladetest-int", Subnet: "10.231.8.0/24", Internal: true}); err != nil {
		t.Fatal(err)
	}
	always := func(string) bool { return true }
	ported, err := s.Attach(ctx, AttachOptions{Container: testID(3), Name: "ported", Alive: always, Ports: []PortMap{{Proto: "tcp", HostPort: 1, Port: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	ported.ns.Close()
	dead, err := s.Attach(ctx, AttachOptions{Network: "ladetest-int", Container: testID(1), Name: "dead", Alive: always})
	if err != nil {
		t.Fatal(err)
	}
	dead.ns.Close() // as a SIGKILL would: no Detach
	// Someone flushed the rules: the next attach puts them back.
	if err := deleteTable(s.Table()); err != nil {
		t.Fatal(err)
	}
	next, err := s.Attach(ctx, AttachOptions{Network: "ladetest-int", Container: testID(2), Name: "next",
		Alive: func(id string) bool { return id == testID(2) }})
	if err != nil {
		t.Fatal(err)
	}
	defer next.Detach(ctx)
	if addr, def := eth0(t, next); addr != "10.231.8.3/24" || def {
		t.Errorf("after a dead endpoint: eth0 %s, default route %v; want 10.231.8.3/24 and none", addr, def)
	}
	if st, _ := s.read(); len(st.containerEndpoints(testID(1))) != 0 {
		t.Errorf("the dead container's endpoint was kept: %+v", st.Endpoints)
	}
	c := nftConn(t)
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, ch := range chains {
		if ch.Table.Name == s.Table() {
			found++
			if rules, _ := c.GetRules(ch.Table, ch); ch.Name == "prerouting" && len(rules) != 0 {
				t.Errorf("a dead container's DNAT rules were kept: %d", len(rules))
			}
		}
	}
	if found != len(baseChains) {
		t.Errorf("nftables table %s has %d chains, want %d", s.Table(), found, len(baseChains))
	}
}
