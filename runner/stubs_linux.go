package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// standardTargets are the rootfs directories the init always mounts on.
var standardTargets = []string{"/proc", "/dev", "/sys"}

// stubSet records the mount targets Run created in a rootfs so they can be
// removed again and a build layer never contains mountpoint stubs.
type stubSet struct {
	root    string
	created []string          // host paths, in creation order
	parents map[string]parent // parent dir of a topmost stub -> its times
}

// parent remembers a pre-existing directory's times before a stub was made
// in it, and its mtime right after, to restore them when nobody else
// touched it in between.
type parent struct {
	atime, mtime unix.Timespec
	after        unix.Timespec
}

// create makes the container path target exist inside the rootfs, as an
// empty file when isFile, else as a directory, creating missing parents.
// Symlinks are resolved inside the rootfs, so nothing outside it is touched.
func (s *stubSet) create(target string, isFile bool) error {
	resolved, err := securejoin.SecureJoin(s.root, target)
	if err != nil {
		return fmt.Errorf("runner: resolve mount target %s: %w", target, err)
	}
	rel, err := filepath.Rel(s.root, resolved)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Errorf("runner: mount target %s resolves outside the rootfs", target)
	}
	if rel == "." {
		return fmt.Errorf("runner: mount target %s resolves to the rootfs itself", target)
	}
	parts := strings.Split(rel, "/")
	cur := s.root
	for i, name := range parts {
		dir := cur
		cur = filepath.Join(cur, name)
		last := i == len(parts)-1
		fi, err := os.Lstat(cur)
		if err == nil {
			if fi.Mode()&os.ModeSymlink != 0 {
				// SecureJoin resolved every existing link, so this one
				// appeared meanwhile: refuse rather than follow it.
				return fmt.Errorf("runner: mount target %s: %s became a symlink", target, cur)
			}
			if !last && !fi.IsDir() {
				return fmt.Errorf("runner: mount target %s: %s is not a directory", target, cur)
			}
			continue
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("runner: mount target %s: %w", target, err)
		}
		s.rememberParent(dir)
		if last && isFile {
			err = createFile(cur)
		} else {
			err = unix.Mkdir(cur, 0o755)
		}
		if err != nil {
			return fmt.Errorf("runner: create mount target %s: %w", cur, err)
		}
		s.created = append(s.created, cur)
		s.markAfter(dir)
	}
	return nil
}

// createFile makes an empty file without following a symlink at path.
func createFile(path string) error {
	fd, err := unix.Open(path, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

// rememberParent records dir's times unless dir is itself a stub.
func (s *stubSet) rememberParent(dir string) {
	if s.isStub(dir) {
		return
	}
	if s.parents == nil {
		s.parents = map[string]parent{}
	}
	if _, ok := s.parents[dir]; ok {
		return
	}
	var st unix.Stat_t
	if unix.Lstat(dir, &st) == nil {
		s.parents[dir] = parent{atime: st.Atim, mtime: st.Mtim}
	}
}

func (s *stubSet) markAfter(dir string) {
	p, ok := s.parents[dir]
	if !ok {
		return
	}
	var st unix.Stat_t
	if unix.Lstat(dir, &st) == nil {
		p.after = st.Mtim
		s.parents[dir] = p
	}
}

func (s *stubSet) isStub(path string) bool {
	for _, c := range s.created {
		if c == path {
			return true
		}
	}
	return false
}

// remove deletes the stubs deepest first. A directory the command filled
// or a file it replaced is kept: that is content, not a stub.
func (s *stubSet) remove() error {
	paths := append([]string(nil), s.created...)
	sort.SliceStable(paths, func(i, j int) bool {
		return strings.Count(paths[i], "/") > strings.Count(paths[j], "/")
	})
	// Parents touched only by us get their times back once emptied of stubs.
	untouched := map[string]bool{}
	for dir, p := range s.parents {
		var st unix.Stat_t
		untouched[dir] = unix.Lstat(dir, &st) == nil && st.Mtim == p.after
	}
	var errs []error
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if fi.Mode().IsRegular() && fi.Size() != 0 {
			untouched[filepath.Dir(p)] = false
			continue
		}
		if err := os.Remove(p); err != nil {
			if !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) {
				errs = append(errs, fmt.Errorf("runner: remove mount stub: %w", err))
			}
			untouched[filepath.Dir(p)] = false
		}
	}
	for dir, p := range s.parents {
		if !untouched[dir] {
			continue
		}
		ts := []unix.Timespec{p.atime, p.mtime}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, dir, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			errs = append(errs, fmt.Errorf("runner: restore times of %s: %w", dir, err))
		}
	}
	s.created, s.parents = nil, nil
	return errors.Join(errs...)
}
