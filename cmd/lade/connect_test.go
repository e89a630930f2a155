package main

import (
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
