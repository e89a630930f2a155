package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ladeWithin is lade with a deadline, for commands that hang when broken.
func ladeWithin(t *testing.T, d time.Duration, root string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out, errb bytes.Buffer
	code := Run(ctx, append([]string{"--root", root}, args...), strings.NewReader(""), &out, &errb)
	if ctx.Err() != nil {
		t.Fatalf("lade %s did not finish within %s: %s", strings.Join(args, " "), d, errb.String())
	}
	return result{code, out.String(), errb.String()}
}

// TestManualStopBeatsRestartPolicy: as in docker, a container that
// `kill` or `stop` ended stays down whatever its restart policy, until
// the next explicit start, after which the policy applies again.
func TestManualStopBeatsRestartPolicy(t *testing.T) {
	root := newRoot(t)
	for _, policy := range []string{"on-failure", "always", "unless-stopped"} {
		for _, action := range [][]string{{"kill"}, {"stop", "-t", "1"}, {"kill", "-s", "TERM"}} {
			name := policy + "-" + action[0] + "-" + action[len(action)-1]
			t.Run(name, func(t *testing.T) {
				// Ends on SIGTERM (as pid 1 a bare sleep would not).
				runDetached(t, root, "--name", name, "--restart", policy, "busybox", "sh", "-c", "trap 'exit 143' TERM; echo ready; sleep 300 & wait")
				poll(t, "the trap to be set", func() bool { return lade(t, root, "", "logs", name).stdout == "ready\n" })
				if r := ladeWithin(t, time.Minute, root, append(action, name)...); r.code != 0 {
					t.Fatalf("%s: %+v", action[0], r)
				}
				// wait returns once the supervisor is gone: nothing can
				// restart the container after that.
				if r := ladeWithin(t, 20*time.Second, root, "wait", name); r.stdout != "137\n" && r.stdout != "143\n" {
					t.Errorf("wait: %+v", r)
				}
				st := inspectContainer(t, root, name)
				if st.State.Status != "exited" || st.State.RestartCount != 0 {
					t.Fatalf("after %s: %+v, want exited without restarts", action[0], st.State)
				}
				// start undoes it: a crash is restarted again.
				if r := ladeWithin(t, time.Minute, root, "start", name); r.code != 0 {
					t.Fatalf("start: %+v", r)
				}
				pid := inspectContainer(t, root, name).State.Pid
				if pid == 0 {
					t.Fatal("no pid after start")
				}
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				poll(t, "the policy to restart a crash", func() bool {
					st := inspectContainer(t, root, name)
					return st.State.RestartCount == 1 && st.State.Status == "running" && st.State.Pid != pid
				})
			})
		}
	}
}

// TestStartShortLived: start of a container that ends at once succeeds
// every time (it failed 7 in 10 with an empty "container shim exited:").
func TestStartShortLived(t *testing.T) {
	root := newRoot(t)
	runDetached(t, root, "--name", "hi", "busybox", "echo", "hi")
	runDetached(t, root, "--name", "yes", "busybox", "true")
	for i := range 20 {
		for _, name := range []string{"hi", "yes"} {
			if r := ladeWithin(t, time.Minute, root, "start", name); r.code != 0 || r.stdout != name+"\n" {
				t.Fatalf("start %d of %s: %+v", i, name, r)
			}
			if r := ladeWithin(t, time.Minute, root, "wait", name); r.stdout != "0\n" {
				t.Fatalf("wait %d of %s: %+v", i, name, r)
			}
		}
	}
	if r := lade(t, root, "", "logs", "hi"); r.stdout != strings.Repeat("hi\n", 21) {
		t.Errorf("logs: %q, want 21 runs", r.stdout)
	}
	// A start that really fails says why: its published port is taken.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	r := ladeWithin(t, time.Minute, root, "run", "-d", "--name", "bad", "-p", taken+":80", "busybox", "true")
	t.Cleanup(func() { lade(t, root, "", "rm", "-f", "bad") })
	if r.code == 0 || !strings.Contains(r.stderr, taken) || strings.Contains(r.stderr, "shim exited") {
		t.Errorf("run -d with a taken port: %+v", r)
	}
}
