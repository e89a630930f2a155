package network

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestFreePool(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		name string
		used []netip.Prefix
		want string
	}{
		{"first", nil, "172.17.0.0/16"},
		{"docker0 and a host route", []netip.Prefix{p("172.17.0.0/16"), p("172.18.5.0/24")}, "172.19.0.0/16"},
		{"a wide host route", []netip.Prefix{p("172.16.0.0/12")}, "192.168.0.0/24"},
	}
	for _, tc := range tests {
		got, err := freePool(tc.used)
		if err != nil || got.String() != tc.want {
			t.Errorf("%s: freePool = %v, %v; want %s", tc.name, got, err, tc.want)
		}
	}
	if _, err := freePool([]netip.Prefix{p("172.16.0.0/12"), p("192.168.0.0/16")}); err == nil {
		t.Error("freePool with every pool used: no error")
	}
}

func TestAllocate(t *testing.T) {
	n := &Network{Name: "n", ID: "id1", Subnet: netip.MustParsePrefix("10.0.0.0/29"), Gateway: netip.MustParseAddr("10.0.0.1")}
	st := &state{Networks: []*Network{n}}
	take := func() string {
		a, err := allocate(st, n)
		if err != nil {
			return err.Error()
		}
		st.Endpoints = append(st.Endpoints, &Endpoint{Network: n.ID, IP: a})
		return a.String()
	}
	release := func(ip string) {
		st.Endpoints = slices.DeleteFunc(st.Endpoints, func(e *Endpoint) bool { return e.IP.String() == ip })
	}
	var got []string
	got = append(got, take(), take())
	// A released address is not given out again at once.
	release("10.0.0.2")
	got = append(got, take(), take(), take())
	// Past the end the search wraps round; then nothing is left.
	got = append(got, take(), take())
	// Not the network, gateway or broadcast address.
	want := "10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 10.0.0.2 network n has no free address"
	if strings.Join(got, " ") != want {
		t.Errorf("allocated %v, want %s", got, want)
	}
}

func TestAddressing(t *testing.T) {
	st := &state{Networks: []*Network{{Name: "a", Subnet: netip.MustParsePrefix("10.231.0.0/24")}}}
	tests := []struct {
		o       CreateOptions
		subnet  string
		gateway string
		err     string
	}{
		{o: CreateOptions{Subnet: "10.232.0.7/24"}, subnet: "10.232.0.0/24", gateway: "10.232.0.1"},
		{o: CreateOptions{Subnet: "10.232.0.0/24", Gateway: "10.232.0.254"}, subnet: "10.232.0.0/24", gateway: "10.232.0.254"},
		{o: CreateOptions{Subnet: "10.231.0.128/25"}, err: "overlaps network a"},
		{o: CreateOptions{Subnet: "10.232.0.0/24", Gateway: "10.9.0.1"}, err: "not an address of"},
		{o: CreateOptions{Subnet: "fd00::/64"}, err: "want an IPv4 CIDR"},
		{o: CreateOptions{Subnet: "10.232.0.0/31"}, err: "too small"},
	}
	for _, tc := range tests {
		s, g, err := addressing(st, tc.o)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("addressing(%+v) error %v, want %q", tc.o, err, tc.err)
			}
			continue
		}
		if err != nil || s.String() != tc.subnet || g.String() != tc.gateway {
			t.Errorf("addressing(%+v) = %s %s %v, want %s %s", tc.o, s, g, err, tc.subnet, tc.gateway)
		}
	}
}

func TestFilter(t *testing.T) {
	nets := []*Network{
		{Name: DefaultName, ID: "aaa1", Driver: "bridge"},
		{Name: "front", ID: "bbb2", Driver: "bridge", Labels: map[string]string{"team": "web"}},
		{Name: "back", ID: "ccc3", Driver: "bridge", Labels: map[string]string{"team": "db"}},
	}
	tests := []struct {
		filters []string
		want    string
		err     bool
	}{
		{nil, "bridge front back", false},
		{[]string{"name=ont"}, "front", false},
		{[]string{"label=team"}, "front back", false},
		{[]string{"label=team=db"}, "back", false},
		{[]string{"type=custom", "name=b"}, "back", false},
		{[]string{"type=builtin"}, "bridge", false},
		{[]string{"id=bb"}, "front", false},
		{[]string{"colour=red"}, "", true},
		{[]string{"name"}, "", true},
	}
	for _, tc := range tests {
		got, err := Filter(nets, tc.filters)
		if (err != nil) != tc.err {
			t.Errorf("Filter(%v) error %v", tc.filters, err)
			continue
		}
		var names []string
		for _, n := range got {
			names = append(names, n.Name)
		}
		if strings.Join(names, " ") != tc.want {
			t.Errorf("Filter(%v) = %v, want %s", tc.filters, names, tc.want)
		}
	}
}
