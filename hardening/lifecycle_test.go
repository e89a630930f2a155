package hardening

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

// pidsWithArgs lists the processes whose command line is exactly args.
func pidsWithArgs(args ...string) []int {
	want := strings.Join(args, "\x00") + "\x00"
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || string(b) != want {
			continue
		}
		var pid int
		fmt.Sscanf(filepath.Base(d), "%d", &pid)
		pids = append(pids, pid)
	}
	return pids
}

type ctrState struct {
	ID    string `json:"id"`
	State struct {
		Status     string    `json:"status"`
		Pid        int       `json:"pid"`
		ExitCode   int       `json:"exitCode"`
		Error      string    `json:"error"`
		FinishedAt time.Time `json:"finishedAt"`
	} `json:"state"`
}

func inspectCtr(t *testing.T, root, ref string) (ctrState, bool) {
	t.Helper()
	r := ladeWithin(t, time.Minute, root, "container", "inspect", ref)
	var out []ctrState
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil || len(out) != 1 {
		return ctrState{}, false
	}
	return out[0], true
}

// TestRmForceRightAfterRunDetached: rm -f sent while run -d is still
// starting the container neither hangs nor leaves it running (it hung
// in 4 of 15 tries and the container kept running).
func TestRmForceRightAfterRunDetached(t *testing.T) {
	root := newRoot(t)
	for i := range 15 {
		name := fmt.Sprintf("race%d", i)
		// A unique command line, to find the container's process.
		secs := fmt.Sprint(7000 + i)
		run := make(chan result, 1)
		go func() { run <- ladeWithin(t, time.Minute, root, "run", "-d", "--name", name, "busybox", "sleep", secs) }()
		// As soon as the container exists, whatever state it is in.
		testutil.Poll(t, "the container to be created", func() bool {
			m, _ := filepath.Glob(filepath.Join(root, "containers", "*", "config.json"))
			return len(m) > 0
		})
		rm := ladeWithin(t, time.Minute, root, "rm", "-f", name)
		if rm.code != 0 {
			t.Errorf("try %d: rm -f failed: %+v", i, rm)
		}
		r := <-run
		if r.code != 0 && !strings.Contains(r.stderr, "before it started") && !strings.Contains(r.stderr, "being removed") {
			t.Errorf("try %d: run -d failed without a clear reason: %+v", i, r)
		}
		if ps := ladeWithin(t, time.Minute, root, "ps", "-aq"); ps.stdout != "" {
			t.Fatalf("try %d: container left after rm -f: %q", i, ps.stdout)
		}
		if pids := pidsWithArgs("sleep", secs); len(pids) > 0 {
			t.Fatalf("try %d: the container's process %v still runs after rm -f", i, pids)
		}
		if m, _ := filepath.Glob(filepath.Join(root, "containers", "[0-9a-f]*")); len(m) > 0 {
			t.Fatalf("try %d: container state left behind: %v", i, m)
		}
	}
}

// TestKilledSupervisorRecordedAsKilled: a container whose shim or
// foreground lade was SIGKILLed reads as killed (137) at the time it was
// found, not "Exited (0) 106751 days ago"; a --rm one is removed by the
// next lade command.
func TestKilledSupervisorRecordedAsKilled(t *testing.T) {
	root := newRoot(t)
	t.Cleanup(func() { ladeWithin(t, time.Minute, root, "rm", "-f", "kept", "fg") })

	shimOf := func(id string) int {
		pids := pidsWithArgs("lade", "container-shim", "--root", root, id)
		if len(pids) != 1 {
			t.Fatalf("shim of %s: found %v", id[:12], pids)
		}
		return pids[0]
	}
	// Detached: the shim is killed.
	for _, name := range []string{"kept", "gone"} {
		args := []string{"run", "-d", "--name", name}
		if name == "gone" {
			args = append(args, "--rm")
		}
		r := ladeWithin(t, time.Minute, root, append(args, "busybox", "sleep", "7101")...)
		if r.code != 0 {
			t.Fatalf("run -d: %+v", r)
		}
		if err := syscall.Kill(shimOf(strings.TrimSpace(r.stdout)), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Poll(t, "the container processes to die with their shims", func() bool { return len(pidsWithArgs("sleep", "7101")) == 0 })

	// Foreground: lade itself is killed.
	for _, name := range []string{"fg", "fgrm"} {
		args := []string{"--root", root, "run", "--name", name}
		if name == "fgrm" {
			args = append(args, "--rm")
		}
		cmd := exec.Command(ladeBin, append(args, "busybox", "sleep", "7102")...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		testutil.Poll(t, name+" to run", func() bool {
			st, ok := inspectCtr(t, root, name)
			return ok && st.State.Status == "running"
		})
		cmd.Process.Kill()
		cmd.Wait()
	}
	testutil.Poll(t, "the foreground containers to die with lade", func() bool { return len(pidsWithArgs("sleep", "7102")) == 0 })

	ps := ladeWithin(t, time.Minute, root, "ps", "-a")
	if strings.Contains(ps.stdout, "gone") || strings.Contains(ps.stdout, "fgrm") {
		t.Errorf("--rm containers of killed lade processes are still listed:\n%s", ps.stdout)
	}
	if strings.Contains(ps.stdout, "106751") || strings.Count(ps.stdout, "Exited (137)") != 2 {
		t.Errorf("ps -a should show both killed containers as Exited (137) just now:\n%s", ps.stdout)
	}
	for _, name := range []string{"kept", "fg"} {
		st, ok := inspectCtr(t, root, name)
		if !ok {
			t.Fatalf("inspect %s failed", name)
		}
		age := time.Since(st.State.FinishedAt)
		if st.State.Status != "exited" || st.State.ExitCode != 137 || st.State.Pid != 0 || age < 0 || age > time.Minute || st.State.Error == "" {
			t.Errorf("%s after its supervisor was killed: %+v", name, st.State)
		}
		// Written once: a second look sees the same time.
		if again, _ := inspectCtr(t, root, name); !again.State.FinishedAt.Equal(st.State.FinishedAt) {
			t.Errorf("%s: finish time moved from %v to %v", name, st.State.FinishedAt, again.State.FinishedAt)
		}
	}
	// It starts again, and its end is recorded normally.
	if r := ladeWithin(t, time.Minute, root, "start", "kept"); r.code != 0 {
		t.Fatalf("start after a killed shim: %+v", r)
	}
	if st, _ := inspectCtr(t, root, "kept"); st.State.Status != "running" {
		t.Errorf("after start: %+v", st.State)
	}
}
