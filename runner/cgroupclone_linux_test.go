package runner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// v2CgroupOf is pid's cgroup v2 path ("0::" line of /proc/PID/cgroup).
func v2CgroupOf(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p
		}
	}
	return ""
}

// requireV2 skips where cgroup v2 is not mounted, the one place inits
// can be cloned into their device cgroup.
func requireV2(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t)
	u := UnifiedCgroupDir(cgroupRoot)
	if u == "" {
		t.Skip("no cgroup v2 hierarchy")
	}
	return u
}

// An init starts in its device cgroup (CLONE_INTO_CGROUP) on cgroup v2,
// for a container's named cgroup as for a step's: when Started sees it,
// before it read its config, it is there already, not moved later.
func TestInitClonedIntoDeviceCgroup(t *testing.T) {
	requireV2(t)
	for _, tc := range []struct {
		name, cgroup, wantPrefix string
	}{
		{"container", fmt.Sprintf("lade-clone-test-%d", os.Getpid()), fmt.Sprintf("/lade-clone-test-%d", os.Getpid())},
		{"step", "", "/lade/run-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := baseSpec(newRootfs(t), "sh", "-c", openNode)
			spec.DeviceCgroup = tc.cgroup
			var atStart string
			spec.Started = func(pid int) error {
				atStart = v2CgroupOf(t, pid)
				return nil
			}
			r := run(t, spec)
			if r.err != nil {
				t.Fatalf("run: %v", r.err)
			}
			if !strings.HasPrefix(atStart, tc.wantPrefix) {
				t.Errorf("init's cgroup at start %q, want it cloned into %s", atStart, tc.wantPrefix)
			}
			if r.code == 0 || !strings.Contains(r.stderr, "Operation not permitted") {
				t.Errorf("device rules not enforced: %+v", r)
			}
		})
	}
}

// A command exec'd with ExecSpec.Cgroup starts in that cgroup, under its
// device rules, with no Started to move it.
func TestExecClonedIntoCgroup(t *testing.T) {
	u := requireV2(t)
	name := fmt.Sprintf("lade-exec-clone-test-%d", os.Getpid())
	spec := baseSpec(newRootfs(t), "sleep", "1000")
	spec.DeviceCgroup = name
	pid := seccompContainer(t, spec)
	var out, errOut bytes.Buffer
	code, err := New().Exec(context.Background(), pid, &ExecSpec{
		Args: []string{"sh", "-c", "cat /proc/self/cgroup; " + openNode}, Env: []string{"PATH=/bin"},
		Cgroup: filepath.Join(u, name), Stdout: &out, Stderr: &errOut,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "0::/"+name+"\n") {
		t.Errorf("exec'd command's cgroups:\n%s\nwant 0::/%s", out.String(), name)
	}
	if code == 0 || !strings.Contains(errOut.String(), "Operation not permitted") {
		t.Errorf("device rules not enforced on exec: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}
