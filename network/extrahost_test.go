package network

import "testing"

func TestParseExtraHost(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"db:10.0.0.2", "db:10.0.0.2"},
		{"db=10.0.0.2", "db:10.0.0.2"},
		{"v6:::1", "v6:::1"},
		{"v6=[fe80::1]", "v6:fe80::1"},
		{"v6:[2001:db8::1]", "v6:2001:db8::1"},
		{"gw:host-gateway", "gw:host-gateway"},
		{"gw=host-gateway", "gw:host-gateway"},
		{"nocolon", ""},
		{":10.0.0.2", ""},
		{"db:", ""},
		{"db:not-an-ip", ""},
		{"db:10.0.0.256", ""},
		{"a b:10.0.0.2", ""},
	} {
		got, err := ParseExtraHost(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("ParseExtraHost(%q) = %q, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseExtraHost(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestHostsLines(t *testing.T) {
	got := HostsLines([]string{"db:10.0.0.2", "gw:host-gateway", "v6:[::1]"}, "172.17.0.1")
	want := "10.0.0.2\tdb\n172.17.0.1\tgw\n::1\tv6\n"
	if got != want {
		t.Errorf("HostsLines = %q, want %q", got, want)
	}
}
