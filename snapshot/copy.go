package snapshot

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/untar"
	"github.com/lade-build/lade/internal/userns"
)

// The copying fallback: where a user namespace may not mount overlayfs
// (before Linux 5.11, or an upper dir on overlayfs itself, as in a
// container), Mount copies the lowers into Merged instead and Unmount
// turns what changed there into an overlay-form upper dir (changed and new
// entries moved in, 0:0 whiteouts for deleted ones, replaced dirs marked
// opaque), so Diff and Commit work unchanged. Changes are found by inode
// (with its birth time, as filesystems reuse inode numbers at once) and
// ctime, which every write, chmod, chown or link moves; so the layers
// are those overlayfs gives, except that a file hardlinked in a lower and
// changed in place keeps its links where overlayfs breaks them.

var (
	copyOnly    atomic.Bool // overlayfs was refused once: copy from then on
	copyWarning sync.Once
	forceCopy   bool // tests: copy even where overlayfs works
)

// copyState is what Mount made in Merged: each entry's identity and ctime.
type copyState map[string]copied

type copied struct {
	ino          uint64
	btime, ctime unix.StatxTimestamp // btime is zero where not kept
	dir          bool
}

// same reports whether c is the entry o, changed or not.
func (c copied) same(o copied) bool { return c.ino == o.ino && c.btime == o.btime }

// statCopied reads p's identity.
func statCopied(p string) (copied, error) {
	var x unix.Statx_t
	mask := unix.STATX_TYPE | unix.STATX_INO | unix.STATX_CTIME | unix.STATX_BTIME
	if err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, mask, &x); err != nil {
		return copied{}, &os.PathError{Op: "statx", Path: p, Err: err}
	}
	c := copied{ino: x.Ino, ctime: x.Ctime, dir: x.Mode&unix.S_IFMT == unix.S_IFDIR}
	if x.Mask&unix.STATX_BTIME != 0 {
		c.btime = x.Btime
	}
	return c, nil
}

// mountOrCopy mounts a's overlay or, rootless where that is refused (or
// was before), makes Merged a copy. Called with a.mu held.
func (a *Active) mountOrCopy() error {
	if !copyOnly.Load() && !forceCopy {
		err := MountOverlay(a.Merged, Overlay{Lowers: a.mountLowers(), Upper: a.Upper, Work: a.Work, Volatile: a.Volatile})
		if err == nil || !userns.Rootless() {
			return err
		}
		copyOnly.Store(true)
		copyWarning.Do(func() {
			fmt.Fprintf(os.Stderr, "WARNING: rootless: build steps copy their snapshots (slower), since overlayfs is refused here: %v\n", errors.Unwrap(err))
		})
	}
	if a.copies != nil {
		return errors.New("mounting snapshot: a copied snapshot mounts once")
	}
	for i := len(a.Lowers) - 1; i >= 0; i-- {
		if err := copyLayer(a.Lowers[i], a.Merged, "", map[inode]string{}); err != nil {
			return fmt.Errorf("copying snapshot: %w", err)
		}
	}
	a.copies = copyState{}
	return filepath.WalkDir(a.Merged, func(p string, _ os.DirEntry, err error) error {
		if err != nil || p == a.Merged {
			return err
		}
		c, err := statCopied(p)
		a.copies[p[len(a.Merged)+1:]] = c
		return err
	})
}

// copyLayer applies the overlay-form layer dir src below rel onto dst, as
// overlayfs would show it over what dst holds: whiteouts delete, opaque
// dirs hide what was there. links maps src's hardlinked inodes to the
// first name copied.
func copyLayer(src, dst, rel string, links map[inode]string) error {
	ents, err := os.ReadDir(filepath.Join(src, rel))
	if err != nil {
		return err
	}
	for _, e := range ents {
		r := path.Join(rel, e.Name())
		s, d := filepath.Join(src, r), filepath.Join(dst, r)
		var st, dt unix.Stat_t
		if err := unix.Lstat(s, &st); err != nil {
			return err
		}
		ft := st.Mode & unix.S_IFMT
		isDir := unix.Lstat(d, &dt) == nil && dt.Mode&unix.S_IFMT == unix.S_IFDIR
		if ft != unix.S_IFDIR || !isDir || isOpaque(s) {
			if err := os.RemoveAll(d); err != nil {
				return err
			}
		}
		if name, ok := fileWhiteout(e.Name(), &st); ok {
			if err := os.RemoveAll(filepath.Join(dst, rel, name)); err != nil {
				return err
			}
			continue
		}
		switch {
		case ft == unix.S_IFCHR && st.Rdev == 0: // whiteout
			continue
		case ft == unix.S_IFDIR:
			if err := unix.Mkdir(d, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
				return &os.PathError{Op: "mkdir", Path: d, Err: err}
			}
			if err := copyLayer(src, dst, r, links); err != nil {
				return err
			}
		case ft == unix.S_IFREG && st.Nlink > 1 && links[inode{st.Dev, st.Ino}] != "":
			if err := os.Link(filepath.Join(dst, links[inode{st.Dev, st.Ino}]), d); err != nil {
				return err
			}
			continue
		default:
			if ft == unix.S_IFREG && st.Nlink > 1 {
				links[inode{st.Dev, st.Ino}] = r
			}
			if err := copyNode(s, d, &st); err != nil {
				return err
			}
		}
		if err := copyMeta(s, d, &st); err != nil {
			return err
		}
	}
	return nil
}

// CopyFile creates dst, which must not exist, with the content of the
// regular file src and mode 0600: the caller gives it src's owner and
// mode once it holds the content (copyMeta here, volume seeding in
// package container).
func CopyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// copyNode creates d as a copy of the non-directory s.
func copyNode(s, d string, st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return CopyFile(s, d)
	case unix.S_IFLNK:
		target, err := os.Readlink(s)
		if err != nil {
			return err
		}
		return os.Symlink(target, d)
	case unix.S_IFIFO:
		return unix.Mknod(d, unix.S_IFIFO|0o600, 0)
	}
	return fmt.Errorf("%s: unexpected file type %o in a snapshot", s, st.Mode&unix.S_IFMT)
}

// copyMeta gives d the owner, mode, layer xattrs and times of s (stat st).
func copyMeta(s, d string, st *unix.Stat_t) error {
	if err := unix.Lchown(d, int(st.Uid), int(st.Gid)); err != nil {
		return &os.PathError{Op: "lchown", Path: d, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Chmod(d, st.Mode&0o7777); err != nil {
			return &os.PathError{Op: "chmod", Path: d, Err: err}
		}
	}
	x, err := readXattrs(s)
	if err != nil {
		return err
	}
	for k, v := range x {
		if err := unix.Lsetxattr(d, strings.TrimPrefix(k, untar.PAXXattr), []byte(v), 0); err != nil {
			return &os.PathError{Op: "setxattr", Path: d, Err: err}
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(unix.AT_FDCWD, d, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// toUpper turns the changes made in a copied Merged into an overlay-form
// Upper dir. Called with a.mu held, once.
func (a *Active) toUpper() error {
	u := &upperBuilder{a: a}
	gone := a.deleted()
	if _, err := u.moveChanges(""); err != nil {
		return fmt.Errorf("collecting changes: %w", err)
	}
	for _, rel := range gone {
		if err := u.ensureDir(path.Dir(rel)); err != nil {
			return err
		}
		if err := mkWhiteout(filepath.Join(a.Upper, rel)); err != nil {
			return err
		}
	}
	// Dirs made above got entries after their times were set.
	for i := len(u.made) - 1; i >= 0; i-- {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(a.Merged, u.made[i]), &st); err == nil {
			ts := []unix.Timespec{st.Atim, st.Mtim}
			_ = unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(a.Upper, u.made[i]), ts, unix.AT_SYMLINK_NOFOLLOW)
		}
	}
	return nil
}

// deleted lists the copied entries gone from Merged, top-most only (what
// lies below a deleted or replaced dir is covered by it).
func (a *Active) deleted() []string {
	rels := make([]string, 0, len(a.copies))
	for r := range a.copies {
		rels = append(rels, r)
	}
	sort.Strings(rels)
	cut := map[string]bool{}
	var gone []string
	for _, r := range rels {
		if underCut(r, cut) {
			continue
		}
		c, err := statCopied(filepath.Join(a.Merged, r))
		if err != nil {
			gone = append(gone, r)
			cut[r] = true
		} else if !c.same(a.copies[r]) {
			cut[r] = true
		}
	}
	return gone
}

func underCut(rel string, cut map[string]bool) bool {
	for d := path.Dir(rel); d != "."; d = path.Dir(d) {
		if cut[d] {
			return true
		}
	}
	return false
}

type upperBuilder struct {
	a    *Active
	made []string // dirs made in Upper, parents first
}

// moveChanges moves what changed below the copied dir rel of Merged into
// Upper and reports whether it moved anything.
func (u *upperBuilder) moveChanges(rel string) (bool, error) {
	ents, err := os.ReadDir(filepath.Join(u.a.Merged, rel))
	if err != nil {
		return false, err
	}
	moved := false
	for _, e := range ents {
		r := path.Join(rel, e.Name())
		now, err := statCopied(filepath.Join(u.a.Merged, r))
		if err != nil {
			return false, err
		}
		old, existed := u.a.copies[r]
		switch {
		case existed && old.same(now) && now.dir:
			below, err := u.moveChanges(r)
			if err != nil {
				return false, err
			}
			if below || now.ctime != old.ctime {
				if err := u.ensureDir(r); err != nil {
					return false, err
				}
				moved = true
			}
			continue
		case existed && old.same(now) && now.ctime == old.ctime:
			continue // untouched
		}
		// New, replaced or changed: the entry moves to Upper whole.
		if err := u.ensureDir(rel); err != nil {
			return false, err
		}
		if err := os.Rename(filepath.Join(u.a.Merged, r), filepath.Join(u.a.Upper, r)); err != nil {
			return false, err
		}
		if existed && now.dir && !old.same(now) {
			// A dir made where the lowers had something hides all of it.
			if err := unix.Lsetxattr(filepath.Join(u.a.Upper, r), opaqueXattr(), []byte("y"), 0); err != nil {
				return false, &os.PathError{Op: "setxattr", Path: r, Err: err}
			}
		}
		moved = true
	}
	return moved, nil
}

// ensureDir makes rel and its parents in Upper, each with the owner, mode
// and xattrs its Merged counterpart has.
func (u *upperBuilder) ensureDir(rel string) error {
	if rel == "." || rel == "" {
		return nil
	}
	p := filepath.Join(u.a.Upper, rel)
	if _, err := os.Lstat(p); err == nil {
		return nil
	}
	if err := u.ensureDir(path.Dir(rel)); err != nil {
		return err
	}
	if err := unix.Mkdir(p, 0o700); err != nil {
		return &os.PathError{Op: "mkdir", Path: p, Err: err}
	}
	u.made = append(u.made, rel)
	m := filepath.Join(u.a.Merged, rel)
	var st unix.Stat_t
	if err := unix.Lstat(m, &st); err != nil {
		return err
	}
	return copyMeta(m, p, &st)
}

// mkWhiteout marks p deleted: a 0:0 character device, as overlayfs wants,
// or, where that is refused (a user namespace on overlayfs, which creates
// no whiteouts for others), an empty file .wh.NAME beside it, which only
// the copying fallback reads and which a layer can never bring itself
// (a layer's .wh. names are whiteouts).
func mkWhiteout(p string) error {
	err := unix.Mknod(p, unix.S_IFCHR, 0)
	if errors.Is(err, unix.EPERM) && userns.Rootless() {
		f, ferr := os.OpenFile(filepath.Join(filepath.Dir(p), whiteoutPrefix+filepath.Base(p)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0)
		if ferr == nil {
			return f.Close()
		}
		err = ferr
	}
	if err != nil {
		return &os.PathError{Op: "mknod whiteout", Path: p, Err: err}
	}
	return nil
}

// fileWhiteout reports whether the entry name (stat st) is a whiteout file
// mkWhiteout made, and the name it deletes.
func fileWhiteout(name string, st *unix.Stat_t) (string, bool) {
	if st.Mode&unix.S_IFMT != unix.S_IFREG || !strings.HasPrefix(name, whiteoutPrefix) || strings.HasPrefix(name, whiteoutMeta) {
		return "", false
	}
	return strings.TrimPrefix(name, whiteoutPrefix), true
}

// hasFileWhiteout reports whether lower dir l deletes rel with a whiteout
// file.
func hasFileWhiteout(l, rel string) bool {
	var st unix.Stat_t
	w := filepath.Join(l, filepath.Dir(rel), whiteoutPrefix+filepath.Base(rel))
	if unix.Lstat(w, &st) != nil {
		return false
	}
	_, ok := fileWhiteout(filepath.Base(w), &st)
	return ok
}
