package runner

import (
	"os"
	"path/filepath"
	"testing"
)

// KeepMountTargets leaves the targets Run made for its mounts in the
// rootfs; without it they are removed.
func TestKeepMountTargets(t *testing.T) {
	rootfs := newRootfs(t)
	src := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(src, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []bool{false, true} {
		target := "/etc/lade-target-" + map[bool]string{false: "removed", true: "kept"}[keep]
		spec := baseSpec(rootfs, "cat", target)
		spec.Mounts = []Mount{{Type: "bind", Source: src, Target: target}}
		spec.KeepMountTargets = keep
		if r := run(t, spec); r.err != nil || r.code != 0 || r.stdout != "x" {
			t.Fatalf("keep %v: run: %+v", keep, r)
		}
		_, err := os.Lstat(filepath.Join(rootfs, target))
		if got := err == nil; got != keep {
			t.Errorf("keep %v: %s left in the rootfs: %v", keep, target, got)
		}
	}
}
