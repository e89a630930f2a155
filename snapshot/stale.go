package snapshot

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Every active snapshot holds an exclusive flock on its lock file for as
// long as its owner lives. The kernel drops the lock when the owner dies,
// even by SIGKILL, so an unlocked active dir is a leftover whose overlay
// may still be mounted on the host.
const activeLock = "lock"

// lockNew creates and locks dir's lock file.
func lockNew(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, activeLock), os.O_RDWR|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return f, nil
}

// removeStale unmounts and deletes the active snapshots whose owner is
// gone. Active dirs appear by rename with their lock already held, so a
// dir that can be locked here is never one being set up. Errors leave the
// dir for the next start.
func (s *Snapshotter) removeStale() {
	dir := filepath.Join(s.root, "active")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		f, err := os.OpenFile(filepath.Join(p, activeLock), os.O_RDWR|unix.O_CLOEXEC, 0)
		if err == nil {
			if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
				f.Close()
				continue // its owner is alive
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			continue
		}
		if unmountAll(filepath.Join(p, "merged")) {
			os.RemoveAll(p)
		}
		if f != nil {
			f.Close()
		}
	}
}

// unmountAll detaches every mount stacked on p and reports whether p is
// no longer a mount point, so removing below it cannot reach a lower dir.
func unmountAll(p string) bool {
	for range 16 {
		err := unix.Unmount(p, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}
