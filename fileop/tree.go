package fileop

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/untar"
)

// dirNode is a destination directory that is created only when needed:
// dirs that are excluded or not yet included by --parents appear in the
// destination only if something below them is copied.
type dirNode struct {
	parent   *dirNode
	src, dst string
	st       *unix.Stat_t
	keep     bool // top-level dest dir: an existing one keeps its metadata
	made     bool
	skipMeta bool
}

// walkState carries the paths each filter matches against.
type walkState struct {
	ignRel   string // relative to the source root (Src.Ignore)
	exRel    string // relative to the copied source (--exclude)
	included bool   // an ancestor matched the --parents pattern
}

func lstat(p string) (*unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return nil, &os.PathError{Op: "lstat", Path: p, Err: err}
	}
	return &st, nil
}

func (c *copier) ensure(n *dirNode) error {
	if n == nil || n.made {
		return nil
	}
	if err := c.ensure(n.parent); err != nil {
		return err
	}
	// Mkdir first: in a fresh destination that is the only call needed.
	if err := os.Mkdir(n.dst, 0o700); err != nil {
		if !errors.Is(err, os.ErrExist) {
			return err
		}
		fi, err := os.Lstat(n.dst)
		switch {
		case err != nil:
			return err
		case !fi.IsDir():
			return fmt.Errorf("cannot copy to non-directory: %s", c.dstRel(n.dst))
		case n.keep:
			n.skipMeta = true
		}
	}
	n.made = true
	return nil
}

// finishDir applies a walked directory's metadata, or queues it until the
// files still being copied into it are done.
func (c *copier) finishDir(n *dirNode) error {
	if !n.made || n.skipMeta {
		return nil
	}
	if c.group != nil {
		c.dirs = append(c.dirs, n)
		return nil
	}
	return c.applyMeta(n.src, n.dst, n.st)
}

// walkDir copies the children of n, applying Src.Ignore, --exclude and the
// --parents include pattern. Symlinks are copied as links, never followed.
func (c *copier) walkDir(n *dirNode, ws walkState) error {
	ents, err := os.ReadDir(n.src)
	if err != nil {
		return err
	}
	ctx := c.ctx
	if c.gctx != nil {
		ctx = c.gctx // stop early when a worker failed
	}
	var batch []fileJob
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		src := filepath.Join(n.src, e.Name())
		st, err := lstat(src)
		if err != nil {
			return err
		}
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		cs := walkState{
			ignRel:   path.Join(ws.ignRel, e.Name()),
			exRel:    path.Join(ws.exRel, e.Name()),
			included: ws.included,
		}
		skip, lazy, err := c.filter(&cs, isDir)
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		if isDir {
			child := &dirNode{parent: n, src: src, dst: filepath.Join(n.dst, e.Name()), st: st}
			if !lazy {
				if err := c.ensure(child); err != nil {
					return err
				}
			}
			if err := c.walkDir(child, cs); err != nil {
				return err
			}
			if err := c.finishDir(child); err != nil {
				return err
			}
			continue
		}
		if err := c.ensure(n); err != nil {
			return err
		}
		dst := filepath.Join(n.dst, e.Name())
		if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Nlink <= 1 {
			if batch = append(batch, fileJob{src, dst, st}); len(batch) == maxBatch {
				err, batch = c.queueFiles(batch), nil
			}
		} else {
			err = c.copyEntry(src, dst, st) // hardlinks need their first copy done
		}
		if err != nil {
			return err
		}
	}
	return c.queueFiles(batch)
}

// filter decides whether an entry is skipped, or walked but only created
// when something below it is copied (lazy).
func (c *copier) filter(cs *walkState, isDir bool) (skip, lazy bool, err error) {
	for _, f := range []struct {
		m   *Matcher
		rel string
	}{{c.opts.Src.Ignore, cs.ignRel}, {c.exclude, cs.exRel}} {
		ex, err := f.m.Excluded(f.rel, isDir)
		if err != nil {
			return false, false, err
		}
		if ex {
			if !isDir || !f.m.Exclusions() {
				return true, false, nil
			}
			lazy = true
		}
	}
	if c.include != nil && !cs.included {
		in, err := c.include.Excluded(cs.exRel, isDir)
		if err != nil {
			return false, false, err
		}
		if in {
			cs.included = true
		} else {
			if !isDir || !mayContain(c.incPat, cs.exRel) {
				return true, false, nil
			}
			lazy = true
		}
	}
	return false, lazy, nil
}

// mayContain reports whether a dir at rel could hold paths matching the
// include pattern, so --parents does not walk a whole rootfs needlessly.
func mayContain(pattern, rel string) bool {
	pc := splitPath(pattern)
	for i, dc := range splitPath(rel) {
		if i >= len(pc) {
			return true
		}
		if containsDoubleStar(pc[i]) {
			return true
		}
		if ok, _ := filepath.Match(pc[i], dc); !ok {
			return false
		}
	}
	return true
}

func containsDoubleStar(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '*' && s[i+1] == '*' {
			return true
		}
	}
	return false
}

func splitPath(p string) []string {
	p = cleanRel(p)
	if p == "" {
		return nil
	}
	var out []string
	for p != "" {
		i := 0
		for i < len(p) && p[i] != '/' {
			i++
		}
		out = append(out, p[:i])
		if i == len(p) {
			break
		}
		p = p[i+1:]
	}
	return out
}

// copyEntry copies one non-directory. The destination's final component is
// never followed: whatever is there is removed and recreated.
func (c *copier) copyEntry(src, dst string, st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		key := [2]uint64{uint64(st.Dev), st.Ino}
		if st.Nlink > 1 {
			if prev, ok := c.links[key]; ok {
				return c.replaceEntry(dst, func() error { return os.Link(prev, dst) })
			}
		}
		if err := c.copyRegular(src, dst, st); err != nil {
			return err
		}
		if st.Nlink > 1 {
			c.links[key] = dst
		}
		return nil
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := c.replaceEntry(dst, func() error { return os.Symlink(target, dst) }); err != nil {
			return err
		}
	case unix.S_IFIFO, unix.S_IFCHR, unix.S_IFBLK:
		if untar.SkipDevice(dst, st.Mode&unix.S_IFMT != unix.S_IFIFO) {
			return nil
		}
		err := c.replaceEntry(dst, func() error {
			if err := unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
				return &os.PathError{Op: "mknod", Path: dst, Err: err}
			}
			return nil
		})
		if err != nil {
			return err
		}
	default:
		return nil // sockets and unknown types are skipped
	}
	return c.applyMeta(src, dst, st)
}

// applyMeta sets owner, mode, xattrs and times on dst from the source stat.
func (c *copier) applyMeta(src, dst string, st *unix.Stat_t) error {
	uid, gid := c.owner(st)
	if err := os.Lchown(dst, uid, gid); err != nil {
		return err
	}
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	copyXattrs(src, dst)
	if !isLink {
		// After chown, which clears setuid/setgid bits.
		mode := st.Mode & 0o7777
		if c.mode != nil {
			mode = c.mode(mode, st.Mode&unix.S_IFMT == unix.S_IFDIR)
		}
		if err := unix.Chmod(dst, mode); err != nil {
			return &os.PathError{Op: "chmod", Path: dst, Err: err}
		}
	}
	ts := c.times(st)
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimes", Path: dst, Err: err}
	}
	return nil
}

func (c *copier) clamp(t time.Time) time.Time {
	if e := c.opts.SourceDateEpoch; e != nil && t.After(*e) {
		return *e
	}
	return t
}

func (c *copier) dstRel(p string) string {
	rel, err := filepath.Rel(c.dstRoot, p)
	if err != nil {
		return p
	}
	return "/" + filepath.ToSlash(rel)
}

// copyXattrs copies extended attributes best-effort, like BuildKit which
// only logs xattr failures.
func copyXattrs(src, dst string) {
	copyXattrsVia(
		func(b []byte) (int, error) { return unix.Llistxattr(src, b) },
		func(name string, b []byte) (int, error) { return unix.Lgetxattr(src, name, b) },
		func(name string, v []byte) error { return unix.Lsetxattr(dst, name, v, 0) })
}

// copyFdXattrs is copyXattrs for open files.
func copyFdXattrs(in, out int) {
	copyXattrsVia(
		func(b []byte) (int, error) { return unix.Flistxattr(in, b) },
		func(name string, b []byte) (int, error) { return unix.Fgetxattr(in, name, b) },
		func(name string, v []byte) error { return unix.Fsetxattr(out, name, v, 0) })
}

// copyXattrsVia copies every attribute list names from get to set,
// skipping any that fail.
func copyXattrsVia(list func([]byte) (int, error), get func(string, []byte) (int, error), set func(string, []byte) error) {
	var small [1024]byte
	buf := small[:]
	n, err := list(buf)
	if errors.Is(err, unix.ERANGE) {
		if n, err = list(nil); err == nil {
			buf = make([]byte, n)
			n, err = list(buf)
		}
	}
	if err != nil || n <= 0 {
		return
	}
	start := 0
	for i := 0; i < n; i++ {
		if buf[i] != 0 {
			continue
		}
		name := string(buf[start:i])
		start = i + 1
		sz, err := get(name, nil)
		if err != nil {
			continue
		}
		val := make([]byte, sz)
		if sz, err = get(name, val); err != nil {
			continue
		}
		_ = set(name, val[:sz])
	}
}
