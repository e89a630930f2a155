package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

// TestCreateStartAttached: create prints the full ID of a container ps -a
// lists as Created; start -a runs it with its output and exit status.
func TestCreateStartAttached(t *testing.T) {
	root := newRoot(t)
	r := lade(t, root, "", "create", "--name", "made", "-e", "X=from-create", "busybox", "sh", "-c", "echo out $X; echo err >&2; exit 3")
	id := strings.TrimSpace(r.stdout)
	if r.code != 0 || len(id) != 64 {
		t.Fatalf("create: %+v, want a full ID", r)
	}
	t.Cleanup(func() { lade(t, root, "", "rm", "-f", id) })
	if ps := lade(t, root, "", "ps", "-a"); !strings.Contains(ps.stdout, "Created") || !strings.Contains(ps.stdout, "made") {
		t.Errorf("ps -a after create: %q", ps.stdout)
	}
	if ps := lade(t, root, "", "ps", "-q"); strings.Contains(ps.stdout, id[:12]) {
		t.Errorf("ps lists a created container as running: %q", ps.stdout)
	}
	r = ladeWithin(t, time.Minute, root, "start", "-a", "made")
	if r.code != 3 || r.stdout != "out from-create\n" || !strings.Contains(r.stderr, "err\n") {
		t.Errorf("start -a: %+v, want exit 3 with the output", r)
	}
	// start -a -i: lade's stdin goes to a container created with -i.
	lade(t, root, "", "create", "-i", "--name", "reader", "busybox", "sh", "-c", "read line; echo got $line")
	t.Cleanup(func() { lade(t, root, "", "rm", "-f", "reader") })
	if r := lade(t, root, "hello\n", "start", "-a", "-i", "reader"); r.code != 0 || r.stdout != "got hello\n" {
		t.Errorf("start -a -i: %+v", r)
	}
	// create refuses what run refuses, with run's status.
	if r := lade(t, root, "", "create", "--restart", "bogus", "busybox"); r.code != 125 {
		t.Errorf("create --restart bogus: %+v, want 125", r)
	}
}

// TestRename: the new name finds the container and ps shows it; a name
// in use is refused.
func TestRename(t *testing.T) {
	root := newRoot(t)
	runDetached(t, root, "--name", "before", "busybox", "sleep", "300")
	runDetached(t, root, "--name", "taken", "busybox", "sleep", "300")
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"rename", "before", "taken"}, 1},
		{[]string{"rename", "before", "bad/name"}, 1},
		{[]string{"rename", "nosuch", "x"}, 1},
		{[]string{"rename", "before", "after"}, 0},
	} {
		if r := lade(t, root, "", tc.args...); r.code != tc.code {
			t.Errorf("%v: %+v, want status %d", tc.args, r, tc.code)
		}
	}
	ps := lade(t, root, "", "ps").stdout
	if !strings.Contains(ps, " after\n") || strings.Contains(ps, "before") {
		t.Errorf("ps after rename: %q", ps)
	}
	if st := inspectContainer(t, root, "after"); st.State.Status != "running" {
		t.Errorf("renamed container: %+v", st.State)
	}
}

// logLines counts a container's output lines.
func logLines(t *testing.T, root, name string) int {
	return strings.Count(lade(t, root, "", "logs", name).stdout, "\n")
}

// TestPauseUnpause: a paused container's counter stops; ps says Paused;
// unpause lets it go on, and stop ends a paused container.
func TestPauseUnpause(t *testing.T) {
	root := newRoot(t)
	runDetached(t, root, "--name", "counter", "busybox", "sh", "-c", "i=0; while true; do i=$((i+1)); echo $i; sleep 0.02; done")
	testutil.Poll(t, "the counter to run", func() bool { return logLines(t, root, "counter") > 2 })
	if r := lade(t, root, "", "pause", "counter"); r.code != 0 || r.stdout != "counter\n" {
		t.Fatalf("pause: %+v", r)
	}
	if ps := lade(t, root, "", "ps").stdout; !strings.Contains(ps, "(Paused)") {
		t.Errorf("ps of a paused container: %q", ps)
	}
	if r := lade(t, root, "", "pause", "counter"); r.code == 0 {
		t.Errorf("pause of a paused container succeeded: %+v", r)
	}
	if st := lade(t, root, "", "container", "inspect", "-f", "{{.State.Status}} {{.State.Paused}} {{.State.Running}}", "counter").stdout; st != "paused true true\n" {
		t.Errorf("inspect of a paused container: %q", st)
	}
	frozen := logLines(t, root, "counter")
	time.Sleep(300 * time.Millisecond) // about 15 lines if it were running
	if n := logLines(t, root, "counter"); n != frozen {
		t.Fatalf("the counter went on from %d to %d while paused", frozen, n)
	}
	if r := lade(t, root, "", "unpause", "counter"); r.code != 0 {
		t.Fatalf("unpause: %+v", r)
	}
	testutil.Poll(t, "the counter to go on", func() bool { return logLines(t, root, "counter") > frozen+2 })
	if r := lade(t, root, "", "pause", "counter"); r.code != 0 {
		t.Fatalf("pause again: %+v", r)
	}
	if r := ladeWithin(t, time.Minute, root, "stop", "-t", "1", "counter"); r.code != 0 {
		t.Fatalf("stop of a paused container: %+v", r)
	}
}

// memoryLimit reads container id's memory limit from its cgroup (v2 or
// v1); "" when it has none.
func memoryLimit(id string) string {
	for _, p := range []string{"/sys/fs/cgroup/lade/" + id + "/memory.max", "/sys/fs/cgroup/unified/lade/" + id + "/memory.max",
		"/sys/fs/cgroup/memory/lade/" + id + "/memory.limit_in_bytes"} {
		if data, err := os.ReadFile(p); err == nil {
			return strings.TrimSpace(string(data))
		}
	}
	return ""
}

// TestUpdate: update -m changes a running container's cgroup limit and
// its config, which the next start keeps; --restart is stored.
func TestUpdate(t *testing.T) {
	root := newRoot(t)
	if _, err := os.Stat("/sys/fs/cgroup/memory/cgroup.procs"); err != nil {
		if data, _ := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); !strings.Contains(string(data), "memory") {
			t.Skip("no memory cgroup controller (v1 or v2) on this host")
		}
	}
	id := runDetached(t, root, "--name", "limited", "busybox", "sleep", "300")
	want := strconv.Itoa(64 << 20)
	if r := lade(t, root, "", "update", "-m", "64m", "--restart", "on-failure:2", "limited"); r.code != 0 {
		t.Fatalf("update: %+v", r)
	}
	if got := memoryLimit(id); got != want {
		t.Errorf("live memory limit %q, want %s", got, want)
	}
	if r := lade(t, root, "", "update", "-m", "1k", "limited"); r.code == 0 {
		t.Errorf("update -m 1k succeeded: %+v", r)
	}
	if r := ladeWithin(t, time.Minute, root, "restart", "-t", "1", "limited"); r.code != 0 {
		t.Fatalf("restart: %+v", r)
	}
	if got := memoryLimit(id); got != want {
		t.Errorf("memory limit after restart %q, want %s", got, want)
	}
	out := lade(t, root, "", "container", "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}", "limited").stdout
	if out != want+" on-failure:2\n" {
		t.Errorf("inspect after update: %q", out)
	}
	// A stopped (here: created) container starts with what update set.
	idle := strings.TrimSpace(lade(t, root, "", "create", "--name", "idle", "busybox", "sleep", "300").stdout)
	t.Cleanup(func() { lade(t, root, "", "rm", "-f", idle) })
	if r := lade(t, root, "", "update", "--pids-limit", "50", "idle"); r.code != 0 {
		t.Fatalf("update of a created container: %+v", r)
	}
	if r := ladeWithin(t, time.Minute, root, "start", "idle"); r.code != 0 {
		t.Fatalf("start: %+v", r)
	}
	pids := ""
	for _, p := range []string{"/sys/fs/cgroup/lade/" + idle + "/pids.max", "/sys/fs/cgroup/unified/lade/" + idle + "/pids.max",
		"/sys/fs/cgroup/pids/lade/" + idle + "/pids.max"} {
		if data, err := os.ReadFile(p); err == nil {
			pids = strings.TrimSpace(string(data))
		}
	}
	if pids != "50" {
		t.Errorf("pids.max after update and start: %q, want 50", pids)
	}
}

// TestEventsWindow: events --since/--until lists what a run caused.
func TestEventsWindow(t *testing.T) {
	root := newRoot(t)
	before := time.Now()
	if r := lade(t, root, "", "run", "--name", "evented", "busybox", "sh", "-c", "exit 4"); r.code != 4 {
		t.Fatalf("run: %+v", r)
	}
	after := time.Now()
	lade(t, root, "", "rm", "evented")
	since, until := strconv.FormatInt(before.Unix()-1, 10), strconv.FormatFloat(float64(after.UnixNano())/1e9, 'f', 9, 64)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--filter", "container=evented"}, "create 0\nstart 0\ndie 4\n"},
		{[]string{"--filter", "event=die"}, "die 4\n"},
		{[]string{"--filter", "type=volume"}, ""},
	} {
		args := append([]string{"events", "--since", since, "--until", until, "--format", "{{.Action}} {{with .Actor.Attributes.exitCode}}{{.}}{{else}}0{{end}}"}, tc.args...)
		r := ladeWithin(t, 30*time.Second, root, args...)
		if r.code != 0 || r.stdout != tc.want {
			t.Errorf("%v: %+v, want %q", tc.args, r, tc.want)
		}
	}
	// Without a window's end, destroy (after until) shows too, and the
	// default format names the container.
	r := ladeWithin(t, 30*time.Second, root, "events", "--since", since, "--until", "0s", "--filter", "event=destroy")
	if r.code != 0 || !strings.Contains(r.stdout, "container destroy ") || !strings.Contains(r.stdout, "name=evented") {
		t.Errorf("events of rm: %+v", r)
	}
}

// TestEventsOfObjects: volumes, networks and images record their events
// too, each with its type.
func TestEventsOfObjects(t *testing.T) {
	root := newRoot(t)
	since := time.Now().Format(time.RFC3339Nano)
	for _, args := range [][]string{
		{"volume", "create", "evvol"}, {"volume", "rm", "evvol"},
		{"network", "create", "evnet"}, {"network", "rm", "evnet"},
		{"tag", "busybox", "evimg:1"}, {"rmi", "evimg:1"},
	} {
		if r := lade(t, root, "", args...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	for _, tc := range []struct{ typ, want string }{
		{"volume", "create evvol local\ndestroy evvol local\n"},
		{"network", "create evnet bridge\ndestroy evnet bridge\n"},
		{"image", "tag evimg:1 -\nuntag evimg:1 -\n"},
	} {
		r := ladeWithin(t, 30*time.Second, root, "events", "--since", since, "--until", "0s", "--filter", "type="+tc.typ,
			"--format", `{{.Action}} {{or .Actor.Attributes.name .Actor.ID}} {{or .Actor.Attributes.driver .Actor.Attributes.type "-"}}`)
		if r.code != 0 || r.stdout != tc.want {
			t.Errorf("events of type %s: %+v, want %q", tc.typ, r, tc.want)
		}
	}
}

// attached runs `lade attach args` in the background; wait returns its
// result once it ends, within a minute.
func attached(t *testing.T, root, stdin string, args ...string) (wait func() result) {
	t.Helper()
	done := make(chan result, 1)
	since := time.Now().Format(time.RFC3339Nano)
	go func() {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"--root", root, "attach"}, args...), strings.NewReader(stdin), &out, &errb)
		done <- result{code, out.String(), errb.String()}
	}()
	// attach records its event once it follows the output.
	testutil.Poll(t, "attach to attach", func() bool {
		return strings.Contains(lade(t, root, "", "events", "--since", since, "--until", "0s", "--filter", "event=attach").stdout, "attach")
	})
	return func() result {
		select {
		case r := <-done:
			return r
		case <-time.After(time.Minute):
			t.Fatal("attach did not end with its container")
			return result{}
		}
	}
}

// TestAttach: attach to a run -d container sees its output from then on
// and ends with its exit status; an -i one takes attach's stdin.
func TestAttach(t *testing.T) {
	root := newRoot(t)
	runDetached(t, root, "--name", "talks", "busybox", "sh", "-c",
		"echo before; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo after; echo oops >&2; exit 5")
	testutil.Poll(t, "the first line", func() bool { return lade(t, root, "", "logs", "talks").stdout == "before\n" })
	wait := attached(t, root, "", "talks")
	if r := lade(t, root, "", "exec", "talks", "touch", "/tmp/go"); r.code != 0 {
		t.Fatalf("exec: %+v", r)
	}
	if r := wait(); r.code != 5 || r.stdout != "after\n" || r.stderr != "oops\n" {
		t.Errorf("attach: %+v, want exit 5 with the output after it attached", r)
	}

	runDetached(t, root, "-i", "--name", "reads", "busybox", "sh", "-c", "read line; echo got $line")
	wait = attached(t, root, "hello\n", "reads")
	if r := wait(); r.code != 0 || r.stdout != "got hello\n" {
		t.Errorf("attach with stdin: %+v", r)
	}
	if r := lade(t, root, "", "attach", "reads"); r.code == 0 {
		t.Errorf("attach to a stopped container: %+v", r)
	}

	// ctrl-p ctrl-q detaches and leaves the container running.
	runDetached(t, root, "-i", "--name", "stays", "busybox", "sh", "-c", "read line; echo got $line")
	wait = attached(t, root, "\x10\x11", "stays")
	if r := wait(); r.code != 1 || !strings.Contains(r.stderr, "read escape sequence") {
		t.Errorf("attach, detached: %+v", r)
	}
	if st := inspectContainer(t, root, "stays"); st.State.Status != "running" {
		t.Errorf("after detach: %+v, want running", st.State)
	}
}

// TestLogsWindow: logs --since/--until select by time; --details adds
// docker's (empty) details prefix.
func TestLogsWindow(t *testing.T) {
	root := newRoot(t)
	runDetached(t, root, "--name", "early", "busybox", "sh", "-c", "echo one; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo two")
	testutil.Poll(t, "the first line", func() bool { return lade(t, root, "", "logs", "early").stdout == "one\n" })
	mid := time.Now().Format(time.RFC3339Nano)
	lade(t, root, "", "exec", "early", "touch", "/tmp/go")
	testutil.Poll(t, "the second line", func() bool { return lade(t, root, "", "logs", "early").stdout == "one\ntwo\n" })
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--since", mid}, "two\n"},
		{[]string{"--until", mid}, "one\n"},
		{[]string{"--since", "1h"}, "one\ntwo\n"},
		{[]string{"--details", "--until", mid}, " one\n"},
	} {
		r := lade(t, root, "", append(append([]string{"logs"}, tc.args...), "early")...)
		if r.code != 0 || r.stdout != tc.want {
			t.Errorf("logs %v: %+v, want %q", tc.args, r, tc.want)
		}
	}
}

// TestStopSignalFlag: stop -s sends that signal instead of the stop
// signal; --timeout is -t's long name.
func TestStopSignalFlag(t *testing.T) {
	root := newRoot(t)
	runDetached(t, root, "--name", "usr1", "busybox", "sh", "-c", "trap 'echo got-usr1; exit 7' USR1; echo ready; while true; do sleep 0.1; done")
	testutil.Poll(t, "the trap to be set", func() bool { return lade(t, root, "", "logs", "usr1").stdout == "ready\n" })
	if r := ladeWithin(t, time.Minute, root, "stop", "-s", "USR1", "--timeout", "30", "usr1"); r.code != 0 {
		t.Fatalf("stop -s USR1: %+v", r)
	}
	if st := inspectContainer(t, root, "usr1"); st.State.ExitCode != 7 {
		t.Errorf("after stop -s USR1: %+v, want exit 7 from the trap", st.State)
	}
}

// TestExecFlags: exec -d runs in the background, --env-file sets the
// environment, --privileged gives every capability.
func TestExecFlags(t *testing.T) {
	root := newRoot(t)
	runDetached(t, root, "--name", "target", "busybox", "sleep", "300")
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("# comment\nFOO=from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := lade(t, root, "", "exec", "-d", "--env-file", envFile, "target", "sh", "-c", "sleep 0.2; echo $FOO > /tmp/done"); r.code != 0 || r.stdout != "" {
		t.Fatalf("exec -d: %+v", r)
	}
	testutil.Poll(t, "the detached command's file", func() bool {
		return lade(t, root, "", "exec", "target", "cat", "/tmp/done").stdout == "from-file\n"
	})
	caps := func(args ...string) string {
		r := lade(t, root, "", append(append([]string{"exec"}, args...), "target", "grep", "CapBnd", "/proc/self/status")...)
		if r.code != 0 {
			t.Fatalf("exec %v: %+v", args, r)
		}
		return r.stdout
	}
	if plain, priv := caps(), caps("--privileged"); plain == priv {
		t.Errorf("exec --privileged has the default capabilities: %q", priv)
	}
}

// TestEventsFollow: without --since or --until, events prints only new
// events (as docker, none of the past), until interrupted.
func TestEventsFollow(t *testing.T) {
	root := newRoot(t)
	lade(t, root, "", "create", "--name", "before", "busybox", "true")
	lade(t, root, "", "rm", "before")
	ctx, cancel := context.WithCancel(context.Background())
	var out testutil.LockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"--root", root, "events", "--filter", "type=container", "--filter", "type=volume",
			"--format", "{{.Type}} {{.Action}} {{or .Actor.Attributes.name .Actor.ID}}"}, strings.NewReader(""), &out, &out)
	}()
	// Marker volumes until the follower prints one: then it follows.
	marks := 0
	testutil.Poll(t, "events to follow", func() bool {
		marks++
		lade(t, root, "", "volume", "create", fmt.Sprintf("mark%d", marks))
		return strings.Contains(out.String(), "volume create mark")
	})
	id := strings.TrimSpace(lade(t, root, "", "create", "--name", "followed", "busybox", "true").stdout)
	lade(t, root, "", "rm", id)
	want := "container create followed\ncontainer destroy followed\n"
	testutil.Poll(t, "events to follow create and destroy", func() bool { return strings.HasSuffix(out.String(), want) })
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("events ended with %d: %s", code, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("events did not end when interrupted")
	}
	if got := out.String(); strings.Contains(got, "before") || strings.Count(got, "container ") != 2 {
		t.Errorf("events replayed the past or missed some:\n%s", got)
	}
}

// TestTtyPromptLogged: a -t container's output reaches the log (so logs
// -f and attach) without waiting for a newline: a shell's prompt shows.
func TestTtyPromptLogged(t *testing.T) {
	root := newRoot(t)
	runDetached(t, root, "-t", "--name", "prompter", "busybox", "sh", "-c", "printf 'prompt> '; exec sleep 300")
	testutil.Poll(t, "the prompt in the log", func() bool { return lade(t, root, "", "logs", "prompter").stdout == "prompt> " })
}

// TestUpdateRestartLive: a restart policy set by update on a running
// container applies to its next exit, as in docker.
func TestUpdateRestartLive(t *testing.T) {
	root := newRoot(t)
	runDetached(t, root, "--name", "flaky", "busybox", "sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 3")
	if r := lade(t, root, "", "update", "--restart", "on-failure:2", "flaky"); r.code != 0 {
		t.Fatalf("update: %+v", r)
	}
	lade(t, root, "", "exec", "flaky", "touch", "/tmp/go")
	if r := ladeWithin(t, time.Minute, root, "wait", "flaky"); r.stdout != "3\n" {
		t.Fatalf("wait: %+v", r)
	}
	if st := inspectContainer(t, root, "flaky"); st.RestartCount != 2 {
		t.Errorf("after update --restart on-failure:2: %+v, want 2 restarts", st.State)
	}
}
