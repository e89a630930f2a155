package snapshot

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/userns"
)

// Driver names how snapshots are mounted, as `info` reports it:
// "overlayfs", or "copy" where a rootless lade is refused overlayfs and
// copies lowers instead (see mountOrCopy). Rootless, it mounts a probe
// overlay under the snapshotter's tmp dir to find out.
func (s *Snapshotter) Driver() string {
	if forceCopy || copyOnly.Load() {
		return "copy"
	}
	if !userns.Rootless() {
		return "overlayfs"
	}
	dir, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "probe-")
	if err != nil {
		return "copy"
	}
	defer os.RemoveAll(dir)
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			return "copy"
		}
	}
	merged := filepath.Join(dir, "merged")
	o := Overlay{Lowers: []string{filepath.Join(dir, "lower")}, Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work")}
	if MountOverlay(merged, o) != nil {
		return "copy"
	}
	unix.Unmount(merged, unix.MNT_DETACH)
	return "overlayfs"
}
