package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

func TestRun(t *testing.T) {
	rootfs := newRootfs(t)
	writeFile(t, filepath.Join(rootfs, "bin/noexec"), "#!/bin/sh\necho never\n")
	if err := os.Mkdir(filepath.Join(rootfs, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LADE_HOST_MARKER_4711", "leaked")
	hostIfaces := ifaceNames(t, readFile(t, "/proc/net/dev"))

	tests := []struct {
		name  string
		args  []string
		edit  func(*Spec)
		code  int
		check func(t *testing.T, r result)
	}{
		{name: "echo", args: []string{"sh", "-c", "echo hello"}, check: stdoutIs("hello\n")},
		{name: "exit code", args: []string{"sh", "-c", "echo before; exit 3"}, code: 3, check: stdoutIs("before\n")},
		{name: "not found", args: []string{"nope-cmd"}, code: 127,
			check: stderrHas(`exec: "nope-cmd": executable file not found in $PATH`)},
		{name: "absolute not found", args: []string{"/bin/missing"}, code: 127, check: stderrHas(`"/bin/missing"`)},
		{name: "not executable", args: []string{"/bin/noexec"}, code: 126, check: stderrHas("permission denied")},
		{name: "env is exact", args: []string{"env"},
			edit: func(s *Spec) { s.Env = []string{"PATH=/bin", "FOO=bar baz"} },
			check: func(t *testing.T, r result) {
				got := strings.Split(strings.TrimSpace(r.stdout), "\n")
				sort.Strings(got)
				if want := []string{"FOO=bar baz", "PATH=/bin"}; !slices.Equal(got, want) {
					t.Errorf("env = %q, want %q", got, want)
				}
				if strings.Contains(r.stdout, "LADE_HOST_MARKER_4711") {
					t.Errorf("host env leaked: %q", r.stdout)
				}
			}},
		{name: "no PATH uses default lookup", args: []string{"env"},
			edit: func(s *Spec) { s.Env = []string{"A=1"} }, check: stdoutIs("A=1\n")},
		{name: "credentials", args: []string{"sh", "-c", "id -u; id -g; id -G"},
			edit:  func(s *Spec) { s.UID, s.GID, s.AdditionalGIDs = 1000, 100, []uint32{10, 1000} },
			check: stdoutIs("1000\n100\n100 10 1000\n")},
		{name: "root drops host groups", args: []string{"id", "-G"}, check: stdoutIs("0\n")},
		{name: "cwd", args: []string{"pwd"}, edit: func(s *Spec) { s.Cwd = "/work" }, check: stdoutIs("/work\n")},
		{name: "hostname", args: []string{"hostname"},
			edit: func(s *Spec) { s.Hostname = "lade-box" }, check: stdoutIs("lade-box\n")},
		{name: "pid 1", args: []string{"sh", "-c", "echo $$"}, check: stdoutIs("1\n")},
		{name: "proc self", args: []string{"cat", "/proc/self/comm"}, check: stdoutIs("cat\n")},
		{name: "dev null writable", args: []string{"sh", "-c", "echo x > /dev/null && head -c 4 /dev/zero | wc -c"},
			check: stdoutIs("4\n")},
		{name: "dev layout", args: []string{"sh", "-c",
			"stat -f -c %T /dev /dev/pts /dev/shm; for l in ptmx fd stdin; do readlink /dev/$l; done; stat -c %a /dev/shm; test -c /dev/urandom && echo chr"},
			check: stdoutIs("tmpfs\ndevpts\ntmpfs\npts/ptmx\n/proc/self/fd\n/proc/self/fd/0\n1777\nchr\n")},
		{name: "stdin", args: []string{"cat"},
			edit: func(s *Spec) { s.Stdin = strings.NewReader("from stdin") }, check: stdoutIs("from stdin")},
		{name: "nil stdin is dev null", args: []string{"sh", "-c", "cat; echo done"}, check: stdoutIs("done\n")},
		{name: "sys read-only", args: []string{"sh", "-c",
			"touch /sys/lade-probe; awk '$5 ~ \"^/sys\" {n++; if ($6 !~ /^ro/) print \"rw:\", $5} END {print (n > 0)}' /proc/self/mountinfo"},
			code: 0, check: func(t *testing.T, r result) {
				if !strings.Contains(r.stderr, "Read-only file system") {
					t.Errorf("writing /sys: stderr %q, want EROFS", r.stderr)
				}
				if r.stdout != "1\n" {
					t.Errorf("/sys mounts not all read-only: %q", r.stdout)
				}
			}},
		{name: "network none", args: []string{"sh", "-c", "cat /proc/net/dev; cat /sys/class/net/lo/flags"},
			edit: func(s *Spec) { s.Network = NetworkNone },
			check: func(t *testing.T, r result) {
				lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
				flags := lines[len(lines)-1]
				if got := ifaceNames(t, strings.Join(lines[:len(lines)-1], "\n")); !slices.Equal(got, []string{"lo"}) {
					t.Errorf("interfaces = %q, want only lo", got)
				}
				if flags != "0x9" { // IFF_UP|IFF_LOOPBACK
					t.Errorf("lo flags = %q, want 0x9 (up)", flags)
				}
			}},
		{name: "network host", args: []string{"cat", "/proc/net/dev"},
			check: func(t *testing.T, r result) {
				if got := ifaceNames(t, r.stdout); !slices.Equal(got, hostIfaces) {
					t.Errorf("interfaces = %q, want host's %q", got, hostIfaces)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := baseSpec(rootfs, tc.args...)
			if tc.edit != nil {
				tc.edit(spec)
			}
			r := run(t, spec)
			if r.err != nil {
				t.Fatalf("Run: %v (stderr %q)", r.err, r.stderr)
			}
			if r.code != tc.code {
				t.Errorf("exit code = %d, want %d (stdout %q, stderr %q)", r.code, tc.code, r.stdout, r.stderr)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
	assertNoStubs(t, rootfs, "proc", "dev", "sys")
}

func stdoutIs(want string) func(*testing.T, result) {
	return func(t *testing.T, r result) {
		t.Helper()
		if r.stdout != want {
			t.Errorf("stdout = %q, want %q (stderr %q)", r.stdout, want, r.stderr)
		}
	}
}

func stderrHas(want string) func(*testing.T, result) {
	return func(t *testing.T, r result) {
		t.Helper()
		if !strings.Contains(r.stderr, want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("stderr = %q, want one line containing %q", r.stderr, want)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ifaceNames parses the interface names out of /proc/net/dev, sorted.
func ifaceNames(t *testing.T, procNetDev string) []string {
	t.Helper()
	var names []string
	for _, l := range strings.Split(procNetDev, "\n") {
		name, _, ok := strings.Cut(l, ":")
		if ok {
			names = append(names, strings.TrimSpace(name))
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatalf("no interfaces in %q", procNetDev)
	}
	return names
}

// assertNoStubs fails if any of names exists in rootfs after the runs.
func assertNoStubs(t *testing.T, rootfs string, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := os.Lstat(filepath.Join(rootfs, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("mount stub %s left in rootfs (err %v)", n, err)
		}
	}
}

func TestKilledBySignal(t *testing.T) {
	rootfs := newRootfs(t)
	// pid 1 of a pid namespace ignores signals sent from inside it, so
	// `kill -9 $$` is a no-op there (as under runc): kill it from the host.
	go testutil.PollUntil(5*time.Second, func() bool {
		pids := procsWithCmdline("sleep", "4711")
		if len(pids) != 1 {
			return false
		}
		pid, _ := strconv.Atoi(pids[0])
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return true
	})
	r := run(t, baseSpec(rootfs, "sleep", "4711"))
	if r.err != nil || r.code != 137 {
		t.Fatalf("Run = %d, %v; want 137, nil", r.code, r.err)
	}
	// A shell that is not pid 1 reports 128+9 the same way through exit.
	r = run(t, baseSpec(rootfs, "sh", "-c", "sh -c 'kill -9 $$'; exit $?"))
	if r.err != nil || r.code != 137 {
		t.Fatalf("nested kill: Run = %d, %v; want 137, nil", r.code, r.err)
	}
}

func TestBackgroundProcessDoesNotSurvive(t *testing.T) {
	rootfs := newRootfs(t)
	r := run(t, baseSpec(rootfs, "sh", "-c", "sleep 4242 & echo started"))
	if r.err != nil || r.code != 0 || r.stdout != "started\n" {
		t.Fatalf("Run = %d, %v, %q", r.code, r.err, r.stdout)
	}
	if !testutil.PollUntil(3*time.Second, func() bool { return len(procsWithCmdline("sleep", "4242")) == 0 }) {
		t.Fatalf("background sleep still alive after Run: pids %v", procsWithCmdline("sleep", "4242"))
	}
}

func TestContextCancelKillsContainer(t *testing.T) {
	rootfs := newRootfs(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	spec := baseSpec(rootfs, "sh", "-c", "sleep 4343 & sleep 4344")
	start := time.Now()
	_, err := New().Run(ctx, spec)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v after cancel", d)
	}
	if p := append(procsWithCmdline("sleep", "4343"), procsWithCmdline("sleep", "4344")...); len(p) > 0 {
		t.Errorf("container processes survived cancel: %v", p)
	}
	assertNoStubs(t, rootfs, "proc", "dev", "sys")
}

func TestNoFdLeak(t *testing.T) {
	rootfs := newRootfs(t)
	// A host directory fd without O_CLOEXEC is what CVE-2024-21626 abused.
	fd, err := unix.Open(t.TempDir(), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	r := run(t, baseSpec(rootfs, "ls", "/proc/self/fd"))
	if r.err != nil || r.code != 0 {
		t.Fatalf("Run = %d, %v, stderr %q", r.code, r.err, r.stderr)
	}
	// 0-2 plus the directory fd ls opened itself (the lowest free one, 3).
	got := strings.Fields(r.stdout)
	if !slices.Equal(got, []string{"0", "1", "2", "3"}) {
		t.Errorf("container fds = %q, want 0 1 2 and ls's own 3 (leaked host fd was %d)", got, fd)
	}
}

func TestSetupErrors(t *testing.T) {
	rootfs := newRootfs(t)
	// A missing cwd is lade's failure, not the command's.
	r := run(t, &Spec{Rootfs: rootfs, Args: []string{"true"}, Cwd: "/does/not/exist"})
	if r.err == nil || !strings.Contains(r.err.Error(), "cwd") {
		t.Errorf("missing cwd: Run = %d, %v; want a cwd error", r.code, r.err)
	}
	assertNoStubs(t, rootfs, "proc", "dev", "sys")
}

func TestReexecOutsideInit(t *testing.T) {
	if Reexec() {
		t.Fatal("Reexec claimed a normal test process as container init")
	}
}
