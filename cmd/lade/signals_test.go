package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

// asLadeEnv makes the test binary run main() instead of the tests, so a
// test can signal a lade process of its own.
const asLadeEnv = "_LADE_TEST_AS_LADE"

// startLade starts lade with args as a process of its own.
func startLade(t *testing.T, root string, args ...string) (*exec.Cmd, *testutil.LockedBuffer) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, append([]string{"--root", root}, args...)...)
	cmd.Env = append(os.Environ(), asLadeEnv+"=1")
	out := &testutil.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, out
}

// waitForOutput polls out for want, for at most d.
func waitForOutput(t *testing.T, out *testutil.LockedBuffer, want string, d time.Duration) {
	t.Helper()
	if !testutil.PollUntil(d, func() bool { return strings.Contains(out.String(), want) }) {
		t.Fatalf("no %q within %v; output:\n%s", want, d, out.String())
	}
}

// trapScript handles SIGTERM and SIGINT with a message and its own exit
// code, and otherwise runs for at most a minute.
const trapScript = `trap "echo got TERM; exit 3" TERM; trap "echo got INT; exit 4" INT; echo ready; ` +
	`i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done`

// SIGINT and SIGTERM sent to a foreground lade reach the container's
// handler (docker's --sig-proxy), and lade exits with the container's
// status; the same for start -a and exec.
func TestSignalProxy(t *testing.T) {
	root := newRoot(t)
	if r := lade(t, root, "", "run", "-d", "--name", "running", "busybox", "sleep", "120"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	t.Cleanup(func() { lade(t, root, "", "rm", "-f", "running") })
	// "stopped" ran once and was killed; start -a runs it again.
	if r := lade(t, root, "", "run", "-d", "--name", "stopped", "busybox", "sh", "-c", trapScript); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	t.Cleanup(func() { lade(t, root, "", "rm", "-f", "stopped") })
	if r := lade(t, root, "", "kill", "stopped"); r.code != 0 {
		t.Fatalf("kill: %+v", r)
	}
	if r := lade(t, root, "", "wait", "stopped"); r.code != 0 {
		t.Fatalf("wait: %+v", r)
	}
	tests := []struct {
		name string
		args []string
		sig  syscall.Signal
		code int
		want string
	}{
		{"run TERM", []string{"run", "--rm", "busybox", "sh", "-c", trapScript}, syscall.SIGTERM, 3, "got TERM"},
		{"run INT", []string{"run", "--rm", "busybox", "sh", "-c", trapScript}, syscall.SIGINT, 4, "got INT"},
		{"run --init TERM", []string{"run", "--rm", "--init", "busybox", "sh", "-c", trapScript}, syscall.SIGTERM, 3, "got TERM"},
		{"run --restart always TERM", []string{"run", "--restart", "always", "busybox", "sh", "-c", trapScript}, syscall.SIGTERM, 3, "got TERM"},
		{"start -a TERM", []string{"start", "-a", "stopped"}, syscall.SIGTERM, 3, "got TERM"},
		{"exec INT", []string{"exec", "running", "sh", "-c", trapScript}, syscall.SIGINT, 4, "got INT"},
		{"exec TERM unhandled", []string{"exec", "running", "sleep", "60"}, syscall.SIGTERM, 143, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, out := startLade(t, root, tc.args...)
			if tc.want != "" {
				waitForOutput(t, out, "ready", time.Minute)
			} else {
				waitForProcess(t, root, "running", tc.args[len(tc.args)-2:])
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatalf("lade did not end after %v; output:\n%s", tc.sig, out.String())
			}
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("exit %d, want %d; output:\n%s", code, tc.code, out.String())
			}
			if !strings.Contains(out.String(), tc.want) || strings.Contains(out.String(), "context canceled") {
				t.Errorf("output %q, want %q and no lade error", out.String(), tc.want)
			}
		})
	}
}

// waitForProcess polls until container ctr runs a process with argv.
func waitForProcess(t *testing.T, root, ctr string, argv []string) {
	t.Helper()
	want := strings.Join(argv, " ")
	var r result
	if !testutil.PollUntil(time.Minute, func() bool {
		r = lade(t, root, "", "exec", ctr, "ps", "-o", "args")
		return strings.Contains(r.stdout, want)
	}) {
		t.Fatalf("no %q in %s:\n%s", want, ctr, r.stdout)
	}
}
