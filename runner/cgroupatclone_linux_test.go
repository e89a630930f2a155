package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With CgroupAtClone the init starts in the caller's v2 cgroup (no move,
// which waits for an RCU grace period); without, it joins it only with
// its spec. Either way the command runs there.
func TestInitCgroupAtClone(t *testing.T) {
	u := requireV2(t)
	for _, tc := range []struct {
		name    string
		atClone bool
	}{{"cloned into", true}, {"joined with the spec", false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(u, fmt.Sprintf("lade-runner-atclone-%d", os.Getpid()))
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Remove(dir) })
			want := "/" + filepath.Base(dir)
			spec := baseSpec(newRootfs(t), "cat", "/proc/self/cgroup")
			spec.Cgroups, spec.CgroupAtClone = []string{dir}, tc.atClone
			var atStart string
			spec.Started = func(pid int) error {
				atStart = v2CgroupOf(t, pid)
				return nil
			}
			r := run(t, spec)
			if r.err != nil || r.code != 0 {
				t.Fatalf("run: %+v", r)
			}
			if got := atStart == want; got != tc.atClone {
				t.Errorf("the init's v2 cgroup when started: %q; in %s: %v, want %v", atStart, want, got, tc.atClone)
			}
			if !strings.Contains(r.stdout, "0::"+want+"\n") {
				t.Errorf("the command's cgroups:\n%s\nwant 0::%s", r.stdout, want)
			}
		})
	}
}
