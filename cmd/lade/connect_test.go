package main

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// TestConnectSurvivesRestart: a network connection, made while the
// container runs or while it is stopped, holds at each later start, as
// docker's; a disconnect while stopped holds too, of its own network as
// of a further one; prune keeps a network
// a stopped container is connected to.
func TestConnectSurvivesRestart(t *testing.T) {
	root := newRoot(t)
	createNetworks(t, root, "ladetest-c1", "ladetest-c2")
	runDetached(t, root, "--name", "web", "--network", "ladetest-c1", "busybox", "sh", "-c",
		"mkdir -p /www && echo hello-web > /www/index.html && exec httpd -f -p 8080 -h /www")
	steps := []struct {
		name  string
		cmds  [][]string
		reach bool
	}{
		{"connected while running, restarted", [][]string{
			{"network", "connect", "--alias", "www", "ladetest-c2", "web"}, {"restart", "-t", "1", "web"}}, true},
		{"stopped, started", [][]string{{"stop", "-t", "1", "web"}, {"start", "web"}}, true},
		{"disconnected while stopped", [][]string{
			{"stop", "-t", "1", "web"}, {"network", "disconnect", "ladetest-c2", "web"}, {"start", "web"}}, false},
		{"connected while stopped", [][]string{
			{"stop", "-t", "1", "web"}, {"network", "connect", "--alias", "www", "ladetest-c2", "web"}, {"start", "web"}}, true},
		// Its own network left, the further one takes its place (compose
		// disconnects a created container and connects it again).
		{"own network left while stopped", [][]string{
			{"stop", "-t", "1", "web"}, {"network", "disconnect", "ladetest-c1", "web"}, {"start", "web"}}, true},
		{"last network left, connected again", [][]string{
			{"stop", "-t", "1", "web"}, {"network", "disconnect", "ladetest-c2", "web"},
			{"network", "connect", "--alias", "www", "ladetest-c2", "web"}, {"start", "web"}}, true},
	}
	for _, st := range steps {
		for _, c := range st.cmds {
			if r := lade(t, root, "", c...); r.code != 0 {
				t.Fatalf("%s: %v: %+v", st.name, c, r)
			}
		}
		var r result
		for try := 0; try < 10; try++ { // httpd may still be starting
			r = lade(t, root, "", httpFrom("ladetest-c2", "www", "8080")...)
			if strings.Contains(r.stdout, "hello-web") || !st.reach {
				break
			}
		}
		if got := strings.Contains(r.stdout, "hello-web"); got != st.reach {
			t.Errorf("%s: GET http://www:8080/ from ladetest-c2: reached=%v, want %v (%+v)", st.name, got, st.reach, r)
		}
	}
	lade(t, root, "", "stop", "-t", "1", "web")
	lade(t, root, "", "network", "prune", "-f")
	if r := lade(t, root, "", "network", "ls", "-q", "--filter", "name=ladetest-c2"); strings.TrimSpace(r.stdout) == "" {
		t.Errorf("network prune removed ladetest-c2, which the stopped web is connected to")
	}
}

// TestConnectNoneRefused: a container made with --network none stays
// there, as docker's: connect is refused, and it is not changed.
func TestConnectNoneRefused(t *testing.T) {
	root := newRoot(t)
	for _, args := range [][]string{{"network", "create", "ladetest-none"}, {"create", "--name", "isolated", "--network", "none", "busybox", "true"}} {
		if r := lade(t, root, "", args...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	t.Cleanup(func() { lade(t, root, "", "rm", "-f", "isolated"); lade(t, root, "", "network", "rm", "ladetest-none") })
	r := lade(t, root, "", "network", "connect", "ladetest-none", "isolated")
	if r.code == 0 || !strings.Contains(r.stderr, "private (none) mode") {
		t.Errorf("network connect of a --network none container: %+v", r)
	}
	if r := lade(t, root, "", "inspect", "-f", "{{.HostConfig.NetworkMode}}", "isolated"); r.stdout != "none\n" {
		t.Errorf("after the refused connect, network mode %q", r.stdout)
	}
}

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
