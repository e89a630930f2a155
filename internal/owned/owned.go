// Package owned makes scratch directories that belong to the process that
// made them. Each holds an exclusive flock on its lock file for as long as
// its owner lives; the kernel drops the lock when the owner dies, even by
// SIGKILL, so a sweep at the next start can tell a killed process's
// leftovers (mounts included) from directories another lade still uses.
package owned

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lockName is the lock file inside an owned directory.
const lockName = "lock"

// newPrefix marks a directory still being set up; sweeps leave it alone
// while it is young.
const newPrefix = ".new-"

// staleNew is how old an unlocked half-made directory must be before a
// sweep removes it: its maker needs only a mkdir, a create and a rename.
const staleNew = time.Minute

// Dir is an owned directory; Remove deletes it.
type Dir struct {
	Path string
	lock *os.File
}

// New makes parent/prefixNNNN owned by this process. It is made under
// another name and renamed into place with its lock held, so a sweep never
// finds one of its kind unlocked while its owner lives.
func New(parent, prefix string) (*Dir, error) {
	tmp, err := os.MkdirTemp(parent, newPrefix+prefix)
	if err != nil {
		return nil, err
	}
	lock, err := Lock(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	p := filepath.Join(parent, strings.TrimPrefix(filepath.Base(tmp), newPrefix))
	if err := os.Rename(tmp, p); err != nil {
		lock.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	return &Dir{Path: p, lock: lock}, nil
}

// Remove deletes the directory, then gives up its lock.
func (d *Dir) Remove() error {
	err := os.RemoveAll(d.Path)
	d.lock.Close()
	return err
}

// Lock creates dir's lock file and locks it for as long as this process
// lives or until the file is closed.
func Lock(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return f, nil
}

// Abandoned reports whether dir's owner is gone: its lock file is missing
// or nobody holds it. Then the caller holds the lock until release, so
// two sweeps never work on one directory.
func Abandoned(dir string) (release func(), ok bool) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|unix.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		return func() {}, true
	}
	if err != nil {
		return nil, false
	}
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		f.Close()
		return nil, false // its owner is alive
	}
	return func() { f.Close() }, true
}

// UnmountAll detaches every mount stacked on p and reports whether p is
// no longer a mount point, so removing below it cannot reach another
// filesystem.
func UnmountAll(p string) bool {
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

// Sweep removes the directories parent/prefix* whose owner is gone,
// unmounting whatever is mounted on them first (older versions of lade
// mounted secrets' tmpfs there, without a lock), and half-made ones left
// by a process killed while making one. Errors leave a directory for the
// next sweep.
func Sweep(parent, prefix string) error {
	ents, err := os.ReadDir(parent)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	var errs []error
	for _, e := range ents {
		name := e.Name()
		p := filepath.Join(parent, name)
		switch {
		case strings.HasPrefix(name, prefix):
		case strings.HasPrefix(name, newPrefix+prefix):
			if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < staleNew {
				continue
			}
		default:
			continue
		}
		release, ok := Abandoned(p)
		if !ok {
			continue
		}
		if UnmountAll(p) {
			if err := os.RemoveAll(p); err != nil {
				errs = append(errs, err)
			}
		} else {
			errs = append(errs, fmt.Errorf("unmounting leftover %s", p))
		}
		release()
	}
	return errors.Join(errs...)
}
