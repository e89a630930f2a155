package runner

import (
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

// inMemoryCgroup is a spec running args on a fresh rootfs in a new
// memoryCgroup limited to 64 MiB, and that cgroup.
func inMemoryCgroup(t *testing.T, args ...string) (*Spec, string) {
	t.Helper()
	testutil.RequireRoot(t)
	dir := memoryCgroup(t, 64<<20)
	spec := baseSpec(newRootfs(t), args...)
	spec.Cgroups = []string{dir}
	return spec, dir
}

// memoryCgroup makes a v1 memory cgroup limited to limit bytes, removed
// at the end of the test, or skips where the host has no v1 memory
// hierarchy (the runner does not care which version it is given).
func memoryCgroup(t *testing.T, limit int64) string {
	t.Helper()
	base := "/sys/fs/cgroup/memory"
	if _, err := os.Stat(filepath.Join(base, "memory.limit_in_bytes")); err != nil {
		t.Skip("no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory")
	}
	dir := filepath.Join(base, fmt.Sprintf("lade-runner-test-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(dir) })
	if err := os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(strconv.FormatInt(limit, 10)), 0); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestInitJoinsCgroupsItself(t *testing.T) {
	spec, dir := inMemoryCgroup(t, "cat", "/proc/self/cgroup")
	r := run(t, spec)
	if r.err != nil || r.code != 0 {
		t.Fatalf("run: %+v", r)
	}
	want := ":memory:/" + filepath.Base(dir) + "\n"
	if !strings.Contains(r.stdout, want) {
		t.Errorf("the command's cgroups:\n%s\nwant a line ending %q", r.stdout, want)
	}
	// The init joins once it has its spec, so what is charged is the
	// command and the init's last steps before execve, not lade.
	peak, err := os.ReadFile(filepath.Join(dir, "memory.max_usage_in_bytes"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(peak)), 10, 64)
	t.Logf("peak charge: %d KiB", n>>10)
	if n > 8<<20 {
		t.Errorf("peak memory charged to the container's cgroup: %d bytes, want under 8 MiB", n)
	}
}

func TestInitCgroupJoinError(t *testing.T) {
	testutil.RequireRoot(t)
	spec := baseSpec(newRootfs(t), "true")
	spec.Cgroups = []string{filepath.Join(t.TempDir(), "not-a-cgroup")}
	r := run(t, spec)
	if r.err == nil || !strings.Contains(r.err.Error(), "joining cgroup") {
		t.Fatalf("run into a missing cgroup: %+v, want a joining cgroup error", r)
	}
}

// The thread that forks an exec'd command joins the container's v1
// cgroups (so the command starts in them) and must be gone from them once
// the command runs: the OOM killer picks among a memory cgroup's tasks by
// their process's size, and lade's would be the largest.
func TestExecThreadLeavesCgroups(t *testing.T) {
	spec, dir := inMemoryCgroup(t, "sleep", "1000")
	pid := seccompContainer(t, spec)
	done := make(chan error, 1)
	go func() {
		code, err := New().Exec(context.Background(), pid, &ExecSpec{
			Args: []string{"sleep", "2"}, Env: []string{"PATH=/bin"},
			Prepare: func(tid int) error {
				return os.WriteFile(filepath.Join(dir, "tasks"), []byte(strconv.Itoa(tid)), 0)
			},
		})
		if err == nil && code != 0 {
			err = fmt.Errorf("exit %d", code)
		}
		done <- err
	}()
	sawCommand := false
	for !sawCommand {
		select {
		case err := <-done:
			t.Fatalf("exec ended before it was seen in the cgroup: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		data, err := os.ReadFile(filepath.Join(dir, "tasks"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range strings.Fields(string(data)) {
			if comm, _ := readProcComm(mustAtoi(t, f)); comm == "sleep" && f != strconv.Itoa(pid) {
				sawCommand = true
			}
		}
	}
	// The command is in the cgroup: the thread that forked it ends right
	// after (osthread), asynchronously, and must be gone while the
	// command (sleep 2) still runs. Under load that takes a moment, so
	// poll, for at most a second.
	var ours []string
	gone := testutil.PollUntil(time.Second, func() bool {
		data, err := os.ReadFile(filepath.Join(dir, "tasks"))
		if err != nil {
			t.Fatal(err)
		}
		ours = ours[:0]
		for _, f := range strings.Fields(string(data)) {
			if _, err := os.Stat("/proc/self/task/" + f); err == nil {
				ours = append(ours, f)
			}
		}
		return len(ours) == 0
	})
	select {
	case err := <-done:
		t.Fatalf("exec ended before lade's threads %v left the cgroup: %v", ours, err)
	default:
	}
	if !gone {
		t.Errorf("lade's threads %v are still in the container's memory cgroup while the command runs", ours)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
