package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
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
				testutil.Poll(t, "the trap to be set", func() bool { return lade(t, root, "", "logs", name).stdout == "ready\n" })
				if r := ladeWithin(t, time.Minute, root, append(action, name)...); r.code != 0 {
					t.Fatalf("%s: %+v", action[0], r)
				}
				// wait returns once the supervisor is gone: nothing can
				// restart the container after that.
				if r := ladeWithin(t, 20*time.Second, root, "wait", name); r.stdout != "137\n" && r.stdout != "143\n" {
					t.Errorf("wait: %+v", r)
				}
				st := inspectContainer(t, root, name)
				if st.State.Status != "exited" || st.RestartCount != 0 {
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
				testutil.Poll(t, "the policy to restart a crash", func() bool {
					st := inspectContainer(t, root, name)
					return st.RestartCount == 1 && st.State.Status == "running" && st.State.Pid != pid
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

// TestRmiImageInUse follows docker: an image a container uses keeps its
// last name without -f, is not deleted by ID without -f while a stopped
// container uses it, nor even with -f while a running one does; prune
// keeps it too.
func TestRmiImageInUse(t *testing.T) {
	root := newRoot(t)
	for _, args := range [][]string{{"tag", "busybox", "solo:1"}, {"rmi", "busybox"}} {
		if r := lade(t, root, "", args...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	id := strings.TrimSpace(lade(t, root, "", "images", "-q").stdout)
	if len(id) != 12 {
		t.Fatalf("images -q: %q", id)
	}
	if r := lade(t, root, "", "run", "--name", "stopped", "solo:1", "true"); r.code != 0 {
		t.Fatalf("run: %+v", r)
	}
	stopped := inspectContainerID(t, root, "stopped")
	listed := func() bool { return strings.TrimSpace(lade(t, root, "", "images", "-q").stdout) == id }

	steps := []struct {
		args []string
		code int
		want string // in stdout on success, in stderr on failure
	}{
		{[]string{"rmi", "solo:1"}, 1, `conflict: unable to remove repository reference "solo:1" (must force) - container ` + stopped[:12] + " is using its referenced image " + id},
		{[]string{"rmi", id}, 1, "conflict: unable to delete " + id + " (must be forced) - image is being used by stopped container " + stopped[:12]},
	}
	for _, s := range steps {
		r := lade(t, root, "", s.args...)
		if r.code != s.code || !strings.Contains(r.stderr, s.want) {
			t.Errorf("%v: %+v, want exit %d and %q", s.args, r, s.code, s.want)
		}
		if !listed() {
			t.Fatalf("%v removed the image", s.args)
		}
	}

	running := runDetached(t, root, "--name", "running", "solo:1", "sleep", "300")
	r := lade(t, root, "", "rmi", "-f", id)
	if want := "conflict: unable to delete " + id + " (cannot be forced) - image is being used by running container " + running[:12]; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("rmi -f of a running container's image: %+v, want %q", r, want)
	}
	// -f by name removes the name; the image stays for its containers.
	if r := lade(t, root, "", "rmi", "-f", "solo:1"); r.code != 0 || r.stdout != "Untagged: solo:1\n" {
		t.Errorf("rmi -f solo:1: %+v", r)
	}
	if !listed() {
		t.Fatal("rmi -f of the last name deleted an image containers use")
	}
	if r := lade(t, root, "", "start", "stopped"); r.code != 0 {
		t.Errorf("start after rmi -f of its image's name: %+v", r)
	}
	if r := ladeWithin(t, time.Minute, root, "wait", "stopped"); r.stdout != "0\n" {
		t.Errorf("wait: %+v", r)
	}
	// prune removes the stopped container but keeps the running one's image.
	if r := lade(t, root, "", "system", "prune", "-a", "-f"); r.code != 0 {
		t.Fatalf("system prune: %+v", r)
	}
	if !listed() {
		t.Fatal("system prune -a removed the image of a running container")
	}
	if r := lade(t, root, "", "rm", "-f", "running"); r.code != 0 {
		t.Fatalf("rm -f: %+v", r)
	}
	if r := lade(t, root, "", "rmi", id); r.code != 0 || !strings.HasPrefix(r.stdout, "Deleted: sha256:"+id) {
		t.Errorf("rmi of an unused image: %+v", r)
	}
	if listed() {
		t.Error("image still listed after rmi")
	}
}

func inspectContainerID(t *testing.T, root, ref string) string {
	t.Helper()
	r := lade(t, root, "", "container", "inspect", ref)
	var out []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
		t.Fatalf("inspect %s: %v %+v", ref, err, r)
	}
	return out[0].ID
}
