package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

// warmSpare starts r's spare and waits until it is ready; it returns its pid.
func warmSpare(t *testing.T, r *Runner) int {
	t.Helper()
	r.Warm()
	var pid int
	pollUntil(t, "a spare init", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.spare != nil {
			pid = r.spare.cmd.Process.Pid
		}
		return pid != 0
	})
	return pid
}

// runOn runs spec on r, noting the host pid of the init that ran it. One
// writer takes stdout and stderr, as the solver passes them (which is what
// lets a spare run the step).
func runOn(ctx context.Context, r *Runner, spec *Spec) (code int, pid int, out string, err error) {
	var buf testutil.LockedBuffer
	spec.Stdout, spec.Stderr = &buf, &buf
	spec.Started = func(p int) error { pid = p; return nil }
	code, err = r.Run(ctx, spec)
	return code, pid, buf.String(), err
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestSpareSeesMountsMadeAfterItStarted(t *testing.T) {
	testutil.RequireRoot(t)
	r := &Runner{Prestart: true}
	defer r.Close()
	sparePid := warmSpare(t, r)

	// Both the rootfs and a bind source become mounts only now, after the
	// spare cloned: it must still see them, as a build step's overlay.
	base := newRootfs(t)
	rootfs := filepath.Join(t.TempDir(), "merged")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(base, rootfs, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(rootfs, unix.MNT_DETACH)
	src := t.TempDir()
	if err := unix.Mount("tmpfs", src, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(src, unix.MNT_DETACH)
	writeFile(t, filepath.Join(src, "marker"), "on the new tmpfs\n")

	spec := baseSpec(rootfs, "sh", "-c", "cat /mnt/marker; echo pid $$; echo to-stderr >&2; exit 7")
	spec.Mounts = []Mount{{Type: "bind", Source: src, Target: "/mnt", Options: []string{"ro"}}}
	code, pid, out, err := runOn(context.Background(), r, spec)
	if err != nil || code != 7 {
		t.Fatalf("run: code %d, err %v, output %q", code, err, out)
	}
	if pid != sparePid {
		t.Errorf("ran in init %d, not the spare %d", pid, sparePid)
	}
	if want := "on the new tmpfs\npid 1\nto-stderr\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}

	// Run started the next spare; Close reaps it.
	next := warmSpare(t, r)
	if next == sparePid {
		t.Fatal("the used spare was handed out again")
	}
	r.Close()
	if alive(next) {
		t.Errorf("spare %d still alive after Close", next)
	}
	r.Warm()
	r.mu.Lock()
	if r.spare != nil || r.filling {
		t.Error("a closed Runner started a spare")
	}
	r.mu.Unlock()
}

func TestSpareRuns(t *testing.T) {
	rootfs := newRootfs(t)
	tests := []struct {
		name  string
		args  []string
		edit  func(*Spec)
		code  int
		out   string
		spare bool // whether the spare may run it
	}{
		{name: "not found", args: []string{"nope-cmd"}, code: 127,
			out: "exec: \"nope-cmd\": executable file not found in $PATH\n", spare: true},
		{name: "no network", args: []string{"sh", "-c", "cat /proc/net/dev | wc -l"},
			edit: func(s *Spec) { s.Network = NetworkNone }, out: "3\n", spare: true},
		{name: "hostname", args: []string{"hostname"},
			edit: func(s *Spec) { s.Hostname = "spare-host" }, out: "spare-host\n", spare: true},
		{name: "own stdin", args: []string{"cat"},
			edit: func(s *Spec) { s.Stdin = bytes.NewReader([]byte("typed\n")) }, out: "typed\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &Runner{Prestart: true}
			defer r.Close()
			sparePid := warmSpare(t, r)
			spec := baseSpec(rootfs, tc.args...)
			if tc.edit != nil {
				tc.edit(spec)
			}
			code, pid, out, err := runOn(context.Background(), r, spec)
			if err != nil || code != tc.code || out != tc.out {
				t.Fatalf("code %d, err %v, output %q; want %d and %q", code, err, out, tc.code, tc.out)
			}
			if used := pid == sparePid; used != tc.spare {
				t.Errorf("spare used: %v, want %v", used, tc.spare)
			}
		})
	}
}

func TestSpareCancelAndDeadSpare(t *testing.T) {
	rootfs := newRootfs(t)
	r := &Runner{Prestart: true}
	defer r.Close()

	// A cancelled step kills the spare's whole namespace.
	sparePid := warmSpare(t, r)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	code, pid, _, err := runOn(ctx, r, baseSpec(rootfs, "sleep", "100"))
	if err != context.Canceled || pid != sparePid {
		t.Fatalf("cancelled run: code %d, err %v, pid %d (spare %d)", code, err, pid, sparePid)
	}
	if alive(pid) {
		t.Errorf("init %d alive after cancel", pid)
	}

	// A spare killed from outside never fails a step: whether Run sees it
	// dead before or only when sending the spec, a fresh init runs it.
	dead := warmSpare(t, r)
	if err := syscall.Kill(dead, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	code, pid, out, err := runOn(context.Background(), r, baseSpec(rootfs, "echo", "fresh"))
	if err != nil || code != 0 || out != "fresh\n" || pid == dead {
		t.Fatalf("after a dead spare: code %d, err %v, output %q, pid %d (dead %s)", code, err, out, pid, strconv.Itoa(dead))
	}

	// The second of those cases, forced: a dead spare given its spec.
	p, err := r.launchInit(false, true, defaultClone, nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.kill()
	werr := <-p.exited
	p.exited <- werr
	spec := baseSpec(rootfs, "echo", "never")
	var buf testutil.LockedBuffer
	spec.Stdout, spec.Stderr = &buf, &buf
	cfg, err := prepare(spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, isDead, err := r.runInit(context.Background(), spec, cfg, p); !isDead || err == nil || buf.String() != "" {
		t.Fatalf("dead spare: dead %v, err %v, output %q; want dead and an error", isDead, err, buf.String())
	}
}
