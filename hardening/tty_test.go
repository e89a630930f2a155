package hardening

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

// TestNoTerminalForContainers runs lade the way an operator does, on a
// terminal that is its controlling one, and has every kind of container
// process try to push keystrokes into that terminal's input queue with
// TIOCSTI (what would run in the operator's shell once lade exits).
// Without -t none may get the terminal: not as stdin, stdout or stderr,
// not through /dev/tty, and none may stay in lade's session.
func TestNoTerminalForContainers(t *testing.T) {
	root := newRoot(t)
	prog := buildTiocsti(t)
	ctx := writeTree(t, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY tiocsti /tiocsti\n",
		"Build":      "FROM tiocsti\nRUN [\"/tiocsti\"]\n",
	})
	data, err := os.ReadFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctx, "tiocsti"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	wantOK(t, lade(t, root, nil, "build", "--progress", "plain", "-t", "tiocsti", ctx))
	r := lade(t, root, nil, "run", "-d", "--name", "victim", "tiocsti", "sleep", "1000")
	wantOK(t, r)
	t.Cleanup(func() { lade(t, root, nil, "rm", "-f", "victim") })

	// The healthcheck writes its report to a file the command then prints.
	waitReport := "i=0; while [ ! -e /tmp/hc ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; cat /tmp/hc"
	cases := []struct {
		name string
		args []string
	}{
		{"exec", []string{"exec", "victim", "/tiocsti"}},
		{"exec -i", []string{"exec", "-i", "victim", "/tiocsti"}},
		{"run", []string{"run", "--rm", "tiocsti", "/tiocsti"}},
		{"run -i", []string{"run", "--rm", "-i", "tiocsti", "/tiocsti"}},
		{"run --init", []string{"run", "--rm", "--init", "tiocsti", "/tiocsti"}},
		{"healthcheck", []string{"run", "--rm", "--health-cmd", "/tiocsti /tmp/hc", "--health-interval", "100ms",
			"tiocsti", "sh", "-c", waitReport}},
		{"build RUN", []string{"build", "--progress", "plain", "--no-cache", "-f", filepath.Join(ctx, "Build"), ctx}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, queued := ladeOnTerminal(t, root, c.args...)
			if queued != "" {
				t.Errorf("keystrokes reached the operator's terminal: %q\noutput:\n%s", queued, out)
			}
			if !strings.Contains(out, "tiocsti-done") {
				t.Fatalf("the probe did not report:\n%s", out)
			}
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "INJECTED") || strings.Contains(line, "sid: 0") {
					t.Errorf("container process holds the terminal or lade's session: %s", strings.TrimSpace(line))
				}
			}
			if !strings.Contains(out, "/dev/tty: no such device or address") {
				t.Errorf("/dev/tty opened a terminal in the container:\n%s", out)
			}
		})
	}
}

// buildTiocsti builds the static probe program of testdata/tiocsti.
func buildTiocsti(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "tiocsti")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if p, err := exec.LookPath("go"); err == nil {
		goTool = p
	}
	cmd := exec.Command(goTool, "build", "-o", out, "./testdata/tiocsti")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, b)
	}
	return out
}

// ladeOnTerminal runs lade in a new session whose controlling terminal is
// a new pty, as a shell would, and returns what it printed and what is
// left in the terminal's input queue once it exited.
func ladeOnTerminal(t *testing.T, root string, args ...string) (output, queued string) {
	t.Helper()
	master, slave := openPty(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ladeBin, append([]string{"--root", root}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	var mu sync.Mutex
	var buf bytes.Buffer
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			mu.Lock()
			buf.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	if err := cmd.Run(); err != nil {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("lade %v: %v\n%s", args, err, buf.String())
	}
	// Input pushed with TIOCSTI is queued at once; the output may still
	// be on its way through the pty.
	n, err := unix.IoctlGetInt(int(slave.Fd()), unix.TIOCINQ)
	if err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		q := make([]byte, n)
		n, _ = slave.Read(q)
		queued = string(q[:n])
	}
	testutil.PollUntil(10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		output = buf.String()
		return strings.Contains(output, "tiocsti-done")
	})
	return output, queued
}

// openPty opens a new pty pair; the slave is in raw mode, so keystrokes
// queue without a newline and without echo.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	master = os.NewFile(uintptr(m), "ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(m, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Lflag &^= unix.ICANON | unix.ECHO
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(int(slave.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	return master, slave
}
