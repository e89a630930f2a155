package runner

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

// waitOutput polls until out contains want, failing after 30s.
func waitOutput(t *testing.T, out *testutil.Buffer, want string) {
	t.Helper()
	for i := 0; i < 3000; i++ {
		if strings.Contains(out.String(), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q in output %q", want, out.String())
}

func TestTty(t *testing.T) {
	testutil.RequireRoot(t)
	rootfs := newRootfs(t)
	var got *os.File
	spec := baseSpec(rootfs, "sh", "-c", "tty; stty size; test -t 0 && test -t 2 && echo all-tty; echo err >&2; id -u; ls -ln $(tty) | awk '{print $3}'; echo $(ls /proc/self/fd)")
	spec.Tty, spec.TtySize = true, WindowSize{Rows: 33, Cols: 101}
	spec.UID, spec.GID = 1000, 1000
	spec.Console = func(m *os.File) { got = m }
	r := run(t, spec)
	if r.err != nil || r.code != 0 {
		t.Fatalf("Run = %d, %v; stdout %q stderr %q", r.code, r.err, r.stdout, r.stderr)
	}
	// The terminal's line discipline turns \n into \r\n.
	out := strings.ReplaceAll(r.stdout, "\r\n", "\n")
	if !regexp.MustCompile(`^/dev/pts/\d+\n33 101\nall-tty\nerr\n1000\n1000\n0 1 2 3\n$`).MatchString(out) {
		t.Errorf("stdout %q, want the pts name, 33 101, all three fds a tty, stderr merged, the slave owned by 1000 and no fd but 0-2 (3 is ls's)", r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("stderr %q: with a terminal everything goes to stdout", r.stderr)
	}
	if got == nil {
		t.Error("Console hook not called")
	}
}

func TestTtyInterrupt(t *testing.T) {
	testutil.RequireRoot(t)
	rootfs := newRootfs(t)
	for _, init := range []bool{false, true} {
		t.Run(map[bool]string{false: "shell is pid 1", true: "with init"}[init], func(t *testing.T) {
			ttyInterrupt(t, rootfs, init)
		})
	}
}

func ttyInterrupt(t *testing.T, rootfs string, init bool) {
	inR, inW := io.Pipe()
	defer inW.Close()
	out := &testutil.Buffer{}
	spec := baseSpec(rootfs, "sh", "-c", `trap "echo got-int; exit 3" INT; echo ready; sleep 30`)
	spec.Tty, spec.Stdin, spec.Stdout, spec.Init = true, inR, out, init
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	type res struct {
		code int
		err  error
	}
	done := make(chan res, 1)
	go func() {
		code, err := New().Run(ctx, spec)
		done <- res{code, err}
	}()
	waitOutput(t, out, "ready")
	// ^C typed on the terminal: its line discipline signals the
	// foreground process group, the shell (pid 1, with a trap) and sleep.
	if _, err := inW.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.code != 3 || !strings.Contains(out.String(), "got-int") {
		t.Fatalf("Run = %d, %v; output %q; want 3 and got-int", r.code, r.err, out.String())
	}
}

func TestExecTty(t *testing.T) {
	testutil.RequireRoot(t)
	rootfs := newRootfs(t)
	pid, stop := startLong(t, rootfs)
	defer stop()
	var out bytes.Buffer
	code, err := New().Exec(context.Background(), pid, &ExecSpec{
		Args: []string{"sh", "-c", "tty; stty size; echo err >&2"}, Env: []string{"PATH=/bin"},
		Tty: true, TtySize: WindowSize{Rows: 12, Cols: 34}, Stdout: &out,
	})
	if err != nil || code != 0 {
		t.Fatalf("Exec = %d, %v; output %q", code, err, out.String())
	}
	got := strings.ReplaceAll(out.String(), "\r\n", "\n")
	if !regexp.MustCompile(`^/dev/pts/\d+\n12 34\nerr\n$`).MatchString(got) {
		t.Errorf("exec -t output %q, want a pts name, 12 34 and err", out.String())
	}
}

// startLong runs `sleep 1000` in rootfs and returns the init's pid once
// it runs the command, and a function that kills it.
func startLong(t *testing.T, rootfs string, edit ...func(*Spec)) (int, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pids := make(chan int, 1)
	done := make(chan struct{})
	spec := baseSpec(rootfs, "sleep", "1000")
	for _, e := range edit {
		e(spec)
	}
	spec.Running = func(pid int) error { pids <- pid; return nil }
	var errOut testutil.Buffer
	spec.Stderr = &errOut
	go func() {
		defer close(done)
		_, _ = New().Run(ctx, spec)
	}()
	select {
	case pid := <-pids:
		return pid, func() { cancel(); <-done }
	case <-done:
		cancel()
		t.Fatalf("container ended before running: %s", errOut.String())
	}
	return 0, nil
}
