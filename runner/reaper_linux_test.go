package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestInit(t *testing.T) {
	rootfs := newRootfs(t)
	withInit := func(args ...string) *Spec {
		s := baseSpec(rootfs, args...)
		s.Init = true
		return s
	}
	r := run(t, withInit("sh", "-c", "ps -o pid,comm; echo $$"))
	if r.err != nil || r.code != 0 {
		t.Fatalf("Run = %d, %v; stderr %q", r.code, r.err, r.stderr)
	}
	if !regexp.MustCompile(`\n +1 init\n`).MatchString(r.stdout) || strings.HasSuffix(r.stdout, "\n1\n") {
		t.Errorf("ps: %q; want pid 1 to be init and the shell another pid", r.stdout)
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"sh", "-c", "exit 7"}, 7},
		{[]string{"nope-cmd"}, ExitNotFound},
		{[]string{"/etc/passwd"}, ExitNotExecutable},
		{[]string{"sh", "-c", "kill -9 $$"}, 137},
		// Only 0-2 (and ls's own 3) reach the command, none of the init's.
		{[]string{"sh", "-c", `test "$(echo $(ls /proc/self/fd))" = "0 1 2 3"`}, 0},
	} {
		if r := run(t, withInit(tc.args...)); r.err != nil || r.code != tc.code {
			t.Errorf("%q with init: Run = %d, %v (stderr %q); want %d", tc.args, r.code, r.err, r.stderr, tc.code)
		}
	}
	// The binary is lade's, bound read-only.
	r = run(t, withInit("sh", "-c", "awk '$5 == \"/dev/init\" {print $6}' /proc/self/mountinfo"))
	if !strings.HasPrefix(r.stdout, "ro,") {
		t.Errorf("/dev/init mount options %q, want read-only", r.stdout)
	}
}

func TestInitForwardsSignals(t *testing.T) {
	rootfs := newRootfs(t)
	pids := make(chan int, 1)
	spec := baseSpec(rootfs, "sleep", "1000")
	spec.Init = true
	spec.Running = func(pid int) error { pids <- pid; return nil }
	go func() {
		// Running means the init has its handlers (before, pid 1 drops
		// SIGTERM); sleep as pid 1 would ignore it, as the child it dies.
		_ = unix.Kill(<-pids, unix.SIGTERM)
	}()
	if r := run(t, spec); r.err != nil || r.code != 128+int(unix.SIGTERM) {
		t.Fatalf("Run = %d, %v (stderr %q); want 143, the forwarded SIGTERM", r.code, r.err, r.stderr)
	}
}

func TestInitReapsOrphans(t *testing.T) {
	rootfs := newRootfs(t)
	// The subshell's sleep is orphaned: pid 1 inherits it, and only an
	// init that reaps keeps it from becoming a zombie; `exec sleep` (pid 1
	// without --init) never waits.
	orphan := func(s *Spec) { s.Args = []string{"sh", "-c", "(sleep 0.1 &); exec sleep 1000"} }
	psOut := func(pid int) string {
		var out bytes.Buffer
		code, err := New().Exec(context.Background(), pid, &ExecSpec{Args: []string{"ps", "-o", "stat,comm"}, Env: []string{"PATH=/bin"}, Stdout: &out})
		if err != nil || code != 0 {
			t.Fatalf("exec ps = %d, %v", code, err)
		}
		return out.String()
	}
	sleeps := func(ps string) []string {
		var s []string
		for _, l := range strings.Split(ps, "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[1] == "sleep" {
				s = append(s, f[0])
			}
		}
		return s
	}
	t.Run("without init a zombie stays", func(t *testing.T) {
		pid, stop := startLong(t, rootfs, orphan)
		defer stop()
		pollUntil(t, "a zombie", func() bool { return slices.Contains(sleeps(psOut(pid)), "Z") })
	})
	t.Run("init reaps it", func(t *testing.T) {
		pid, stop := startLong(t, rootfs, orphan, func(s *Spec) { s.Init = true })
		defer stop()
		var last []string
		pollUntil(t, "the orphan to go", func() bool { last = sleeps(psOut(pid)); return len(last) == 1 })
		if last[0] == "Z" {
			t.Errorf("ps states %q", last)
		}
	})
}

// TestInitExeUnreachable is CVE-2019-5736: pid 1 is lade's own binary, and
// the container must neither read nor rewrite it through /proc/1/exe.
func TestInitExeUnreachable(t *testing.T) {
	rootfs := newRootfs(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	before := fileSum(t, self)
	probe := "cat /proc/1/exe > /dev/null && echo readable; echo x >> /proc/1/exe && echo written; readlink /proc/1/exe || echo no-link"
	spec := baseSpec(rootfs, "sh", "-c", probe)
	spec.Init, spec.Capabilities = true, DefaultCapabilities
	r := run(t, spec)
	if r.err != nil || r.stdout != "no-link\n" {
		t.Errorf("default capabilities: stdout %q (stderr %q), want /proc/1/exe unreachable", r.stdout, r.stderr)
	}
	// CAP_SYS_PTRACE overrides non-dumpable; the running binary still
	// cannot be opened for writing (ETXTBSY, and its bind is read-only).
	spec = baseSpec(rootfs, "sh", "-c", "echo x >> /proc/1/exe && echo written; cat /proc/1/exe | wc -c")
	spec.Init = true
	r = run(t, spec)
	if r.err != nil || strings.Contains(r.stdout, "written") || !strings.Contains(r.stderr, "can't create /proc/1/exe") {
		t.Errorf("all capabilities: stdout %q stderr %q, want the write refused", r.stdout, r.stderr)
	}
	if fileSum(t, self) != before {
		t.Fatal("lade's binary changed")
	}
}

func fileSum(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestExecNoFdLeakNonDumpable(t *testing.T) {
	rootfs := newRootfs(t)
	pid, stop := startLong(t, rootfs)
	defer stop()
	fd, err := unix.Open(t.TempDir(), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var out bytes.Buffer
	code, err := New().Exec(context.Background(), pid, &ExecSpec{Args: []string{"ls", "/proc/self/fd"}, Env: []string{"PATH=/bin"}, Stdout: &out})
	if err != nil || code != 0 {
		t.Fatalf("Exec = %d, %v", code, err)
	}
	if got := strings.Fields(out.String()); !slices.Equal(got, []string{"0", "1", "2", "3"}) {
		t.Errorf("exec'd fds = %q, want 0 1 2 and ls's own 3 (leaked host fd was %d)", got, fd)
	}
	// The fork child, lade until execve, inherited this.
	if d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0); err != nil || d != 0 {
		t.Errorf("after Exec dumpable = %d, %v; want 0", d, err)
	}
}

// TestExecRefusesUnstartedInit: before Running, the init is still lade on
// the host's root; joining it then would run the command on the host.
func TestExecRefusesUnstartedInit(t *testing.T) {
	rootfs := newRootfs(t)
	var execErr error
	spec := baseSpec(rootfs, "true")
	spec.Started = func(pid int) error {
		// The init waits for its config: not pivoted, not exec'd.
		_, execErr = New().Exec(context.Background(), pid, &ExecSpec{Args: []string{"true"}, Env: []string{"PATH=/bin"}})
		return nil
	}
	if r := run(t, spec); r.err != nil || r.code != 0 {
		t.Fatalf("Run = %d, %v", r.code, r.err)
	}
	if execErr == nil || !strings.Contains(execErr.Error(), "has not entered its root filesystem") {
		t.Errorf("Exec into a starting init: %v, want a refusal", execErr)
	}
}
