package main

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// TestConnectInspectAddress: a running container's inspect gives its
// address on a network it was connected to (network connect) as on its
// own, as docker's: IP in the network's subnet, the network's gateway
// and prefix length, a MAC.
func TestConnectInspectAddress(t *testing.T) {
	root := newRoot(t)
	createNetworks(t, root, "ladetest-i1", "ladetest-i2")
	runDetached(t, root, "--name", "addressed", "--network", "ladetest-i1", "busybox", "sleep", "300")
	if r := lade(t, root, "", "network", "connect", "--alias", "more", "ladetest-i2", "addressed"); r.code != 0 {
		t.Fatalf("network connect: %+v", r)
	}
	for _, net := range []string{"ladetest-i1", "ladetest-i2"} {
		subnet := netip.MustParsePrefix(strings.TrimSpace(lade(t, root, "", "network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", net).stdout))
		gw := strings.TrimSpace(lade(t, root, "", "network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", net).stdout)
		ep := `(index .NetworkSettings.Networks "` + net + `")`
		r := lade(t, root, "", "inspect", "-f", "{{"+ep+".IPAddress}} {{"+ep+".Gateway}} {{"+ep+".IPPrefixLen}} {{"+ep+".MacAddress}}", "addressed")
		f := strings.Fields(r.stdout)
		if len(f) != 4 {
			t.Fatalf("inspect of %s: %+v", net, r)
		}
		ip, err := netip.ParseAddr(f[0])
		if err != nil || !subnet.Contains(ip) || f[1] != gw || f[2] != strconv.Itoa(subnet.Bits()) || len(f[3]) != 17 {
			t.Errorf("on %s (%s via %s): IP, gateway, prefix length, MAC %q", net, subnet, gw, f)
		}
	}
}
