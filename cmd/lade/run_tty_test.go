package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

// testTerminal is a terminal the test owns: lade gets the slave as its
// stdin, stdout and stderr, the test types into and reads the master.
type testTerminal struct {
	master, slave *os.File
	out           *testutil.LockedBuffer
}

func newTestTerminal(t *testing.T, rows, cols uint16) *testTerminal {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(m, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	tt := &testTerminal{master: os.NewFile(uintptr(m), "ptmx"), slave: s, out: &testutil.LockedBuffer{}}
	tt.resize(t, rows, cols)
	go func() { _, _ = io.Copy(tt.out, tt.master) }()
	t.Cleanup(func() { s.Close(); tt.master.Close() })
	return tt
}

func (tt *testTerminal) resize(t *testing.T, rows, cols uint16) {
	t.Helper()
	if err := unix.IoctlSetWinsize(int(tt.slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatal(err)
	}
}

// lade runs the CLI on the terminal in the background.
func (tt *testTerminal) lade(root string, args ...string) <-chan int {
	done := make(chan int, 1)
	go func() {
		done <- Run(context.Background(), append([]string{"--root", root}, args...), tt.slave, tt.slave, tt.slave)
	}()
	return done
}

func (tt *testTerminal) waitFor(t *testing.T, want string) {
	t.Helper()
	testutil.Poll(t, fmt.Sprintf("%q on the terminal", want), func() bool { return strings.Contains(tt.out.String(), want) })
}

func exitCode(t *testing.T, done <-chan int) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(60 * time.Second):
		t.Fatal("lade did not finish")
	}
	return -1
}

func TestRunTty(t *testing.T) {
	root := newRoot(t)
	tt := newTestTerminal(t, 27, 91)
	code := exitCode(t, tt.lade(root, "run", "--rm", "-t", "busybox", "sh", "-c", "tty; stty size; echo term:$TERM; echo fin"))
	tt.waitFor(t, "fin")
	if code != 0 || !regexp.MustCompile(`/dev/pts/\d+\r\r?\n27 91\r\r?\nterm:xterm\r`).MatchString(tt.out.String()) {
		t.Fatalf("exit %d, terminal %q; want a pts name, 27 91 and TERM=xterm", code, tt.out.String())
	}
}

func TestRunInteractiveTty(t *testing.T) {
	root := newRoot(t)
	tt := newTestTerminal(t, 24, 80)
	before, err := unix.IoctlGetTermios(int(tt.slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	done := tt.lade(root, "run", "--rm", "-it", "busybox", "sh", "-c",
		`trap "stty size" WINCH; trap "echo got-int; exit 3" INT; echo ready; while :; do sleep 0.05; done`)
	tt.waitFor(t, "ready")
	raw, _ := unix.IoctlGetTermios(int(tt.slave.Fd()), unix.TCGETS)
	if raw.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
		t.Errorf("lade's terminal not in raw mode: lflag %#x", raw.Lflag)
	}
	// A resize reaches the container: its shell's WINCH trap prints it.
	tt.resize(t, 40, 120)
	_ = syscall.Kill(os.Getpid(), syscall.SIGWINCH) // the kernel only signals a session's terminal
	tt.waitFor(t, "40 120")
	// ^C is a byte in raw mode: the container's terminal makes it SIGINT.
	if _, err := tt.master.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, done); code != 3 {
		t.Fatalf("exit %d, terminal %q; want 3", code, tt.out.String())
	}
	// lade has written everything by now, but the test's reader of the
	// master may not have read it yet.
	tt.waitFor(t, "got-int")
	after, _ := unix.IoctlGetTermios(int(tt.slave.Fd()), unix.TCGETS)
	if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
		t.Errorf("terminal not restored: lflag %#x -> %#x", before.Lflag, after.Lflag)
	}
}

func TestExecTtyAndDetachedTty(t *testing.T) {
	root := newRoot(t)
	id := runDetached(t, root, "-t", "--name", "ttybox", "busybox", "sh", "-c", "tty; echo logged; exec sleep 1000")
	testutil.Poll(t, "the detached terminal's output in the log", func() bool {
		return strings.Contains(lade(t, root, "", "logs", id).stdout, "logged")
	})
	if out := lade(t, root, "", "logs", id).stdout; !regexp.MustCompile(`^/dev/pts/\d+\r\nlogged\r\n$`).MatchString(out) {
		t.Errorf("-d -t log %q, want the pts name and logged", out)
	}
	// No fd of lade's (this test binary holds plenty) reaches an exec.
	if r := lade(t, root, "", "exec", "ttybox", "ls", "/proc/self/fd"); r.code != 0 || r.stdout != "0\n1\n2\n3\n" {
		t.Errorf("exec'd fds: %+v, want 0-2 and ls's own 3", r)
	}
	tt := newTestTerminal(t, 13, 57)
	done := tt.lade(root, "exec", "-it", "ttybox", "sh", "-c", `tty; stty size; echo "term:$TERM"; read line; echo "read:$line"`)
	tt.waitFor(t, "13 57")
	if _, err := tt.master.Write([]byte("typed\r")); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, done); code != 0 {
		t.Fatalf("exec -it: exit %d, terminal %q", code, tt.out.String())
	}
	tt.waitFor(t, "read:typed") // the test's reader may lag lade's exit
	if out := tt.out.String(); !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "term:xterm") {
		t.Fatalf("exec -it: terminal %q", out)
	}
}

func TestRunInit(t *testing.T) {
	root := newRoot(t)
	r := lade(t, root, "", "run", "--rm", "--init", "busybox", "ps", "-o", "pid,comm")
	if r.code != 0 || !regexp.MustCompile(`\n +1 init\n`).MatchString(r.stdout) || regexp.MustCompile(`\n +1 ps\n`).MatchString(r.stdout) {
		t.Fatalf("ps under --init: %+v", r)
	}
	if r := lade(t, root, "", "run", "--rm", "--init", "busybox", "nope"); r.code != 127 {
		t.Errorf("missing command under --init: exit %d, want 127", r.code)
	}
	// stop's SIGTERM reaches sleep through the init: 143, not the 137 of
	// the SIGKILL that follows a signal pid 1 ignored.
	runDetached(t, root, "--init", "--name", "inited", "busybox", "sleep", "1000")
	// CVE-2019-5736: pid 1 runs lade's files; an exec'd process can
	// neither read nor write them through /proc/1/exe or /proc/1/map_files.
	r = lade(t, root, "", "exec", "inited", "sh", "-c",
		"cat /proc/1/exe >/dev/null 2>&1 || echo no-read; echo x 2>/dev/null >> /proc/1/exe || echo no-write; cat /proc/1/map_files/* >/dev/null 2>&1 || echo no-maps")
	if r.code != 0 || r.stdout != "no-read\nno-write\nno-maps\n" {
		t.Errorf("exec probing /proc/1/exe: %+v", r)
	}
	if r := lade(t, root, "", "stop", "-t", "30", "inited"); r.code != 0 {
		t.Fatalf("stop: %+v", r)
	}
	if st := inspectContainer(t, root, "inited"); st.State.Status != "exited" || st.State.ExitCode != 143 {
		t.Errorf("after stop: %+v, want exited 143", st.State)
	}
}

func TestRunCgroupNamespace(t *testing.T) {
	root := newRoot(t)
	// With limits the container has cgroups of its own, and sees them as /.
	r := lade(t, root, "", "run", "--rm", "--memory", "64m", "--pids-limit", "100", "busybox", "cat", "/proc/self/cgroup")
	if r.code != 0 || r.stdout == "" {
		t.Fatalf("run: %+v", r)
	}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if !strings.HasSuffix(l, ":/") {
			t.Errorf("cgroup line %q is not the namespace root", l)
		}
	}
	// exec joins the namespace.
	runDetached(t, root, "--name", "cgns", "--memory", "64m", "busybox", "sleep", "1000")
	r = lade(t, root, "", "exec", "cgns", "cat", "/proc/self/cgroup")
	if r.code != 0 || !strings.Contains(r.stdout, ":memory:/\n") {
		t.Errorf("exec: %+v", r)
	}
}
