package snapshot

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/holes"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	opaqueMarker   = ".wh..wh..opq"
	paxXattr       = "SCHILY.xattr."
	opaqueXattr    = "trusted.overlay.opaque"
)

// extractMode selects how whiteouts are materialised.
type extractMode int

const (
	// modeOverlay keeps whiteouts as overlayfs lower-dir markers.
	modeOverlay extractMode = iota
	// modeApply deletes whiteouted paths from the target directory.
	modeApply
)

// Apply extracts an uncompressed OCI layer tar into dir as a plain
// filesystem: whiteouts delete the named paths and opaque markers remove the
// directory's pre-existing children.
func Apply(ctx context.Context, dir string, r io.Reader) error {
	return extract(ctx, dir, r, modeApply)
}

type dirTime struct {
	path  string
	atime time.Time
	mtime time.Time
}

type extractor struct {
	root  string
	mode  extractMode
	dirs  []dirTime
	added map[string]bool // clean relative names written by this layer
	below map[string]bool // strict ancestors of added names
}

func (x *extractor) markAdded(name string) {
	x.added[name] = true
	for d := path.Dir(name); d != "." && !x.below[d]; d = path.Dir(d) {
		x.below[d] = true
	}
}

// extract reads a layer tar from r into root. It stops at the tar end
// marker; callers that hash the stream must drain r themselves.
func extract(ctx context.Context, root string, r io.Reader, mode extractMode) error {
	root = filepath.Clean(root)
	x := &extractor{root: root, mode: mode, added: map[string]bool{}, below: map[string]bool{}}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading layer: %w", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}
	// Children modify their parent's mtime, so directories go last,
	// deepest first.
	for i := len(x.dirs) - 1; i >= 0; i-- {
		d := x.dirs[i]
		if err := setTimes(d.path, d.atime, d.mtime); err != nil {
			return err
		}
	}
	return nil
}

func (x *extractor) entry(hdr *tar.Header, content io.Reader) error {
	name, err := cleanEntryName(hdr.Name)
	if err != nil {
		return err
	}
	base := path.Base(name)
	if base == opaqueMarker {
		return x.opaque(path.Dir(name))
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		// Other AUFS metadata (.wh..wh.plnk etc.) carries nothing for us.
		return nil
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		target := strings.TrimPrefix(base, whiteoutPrefix)
		if target == "" || target == "." || target == ".." || strings.Contains(target, "/") {
			return fmt.Errorf("invalid whiteout name %q", base)
		}
		return x.whiteout(path.Join(path.Dir(name), target))
	}

	switch hdr.Typeflag {
	case tar.TypeChar, tar.TypeBlock:
		// Device nodes from images are never created on the host.
		return nil
	case tar.TypeGNUSparse:
		// The tar reader expands sparse files into plain content.
		hdr.Typeflag = tar.TypeReg
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo:
	default:
		return nil
	}

	if name == "." {
		if hdr.Typeflag != tar.TypeDir {
			return errors.New("root entry is not a directory")
		}
		return x.metadata(x.root, hdr)
	}

	p, err := resolveEntry(x.root, name, true)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	exists := unix.Lstat(p, &st) == nil
	isDir := exists && st.Mode&unix.S_IFMT == unix.S_IFDIR
	if exists && !(isDir && hdr.Typeflag == tar.TypeDir) {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}

	switch hdr.Typeflag {
	case tar.TypeDir:
		if !isDir {
			if err := unix.Mkdir(p, 0o700); err != nil {
				return &os.PathError{Op: "mkdir", Path: p, Err: err}
			}
		}
	case tar.TypeReg:
		if err := writeFile(p, content); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := unix.Symlink(hdr.Linkname, p); err != nil {
			return &os.PathError{Op: "symlink", Path: p, Err: err}
		}
	case tar.TypeFifo:
		if err := unix.Mkfifo(p, 0o600); err != nil {
			return &os.PathError{Op: "mkfifo", Path: p, Err: err}
		}
	case tar.TypeLink:
		if err := x.hardlink(p, hdr.Linkname); err != nil {
			return err
		}
		x.markAdded(name)
		// A hardlink shares the target's inode and metadata.
		return nil
	}
	x.markAdded(name)
	return x.metadata(p, hdr)
}

func writeFile(p string, content io.Reader) error {
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &os.PathError{Op: "create", Path: p, Err: err}
	}
	f := os.NewFile(uintptr(fd), p)
	// Zero blocks stay holes: a sparse file of an ADD layer (or any run of
	// zeros) takes no disk space for them.
	if _, err := holes.Write(f, content); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return f.Close()
}

func (x *extractor) hardlink(p, linkname string) error {
	target, err := cleanEntryName(linkname)
	if err != nil {
		return fmt.Errorf("hardlink target %q: %w", linkname, err)
	}
	if target == "." {
		return fmt.Errorf("hardlink target %q is the root", linkname)
	}
	tp, err := resolveEntry(x.root, target, false)
	var st unix.Stat_t
	if err == nil {
		err = unix.Lstat(tp, &st)
	}
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("hardlink target %q does not exist", linkname)
		}
		return fmt.Errorf("hardlink target %q: %w", linkname, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("hardlink target %q is a directory", linkname)
	}
	// flags 0: never follow a symlink target, link the symlink itself.
	if err := unix.Linkat(unix.AT_FDCWD, tp, unix.AT_FDCWD, p, 0); err != nil {
		return fmt.Errorf("linking to %q: %w", linkname, err)
	}
	return nil
}

// metadata sets ownership, mode, xattrs and (for non-dirs) times on p.
func (x *extractor) metadata(p string, hdr *tar.Header) error {
	if err := unix.Lchown(p, hdr.Uid, hdr.Gid); err != nil {
		return &os.PathError{Op: "lchown", Path: p, Err: err}
	}
	isLink := hdr.Typeflag == tar.TypeSymlink
	if !isLink {
		// After chown, which clears setuid/setgid.
		if err := unix.Fchmodat(unix.AT_FDCWD, p, uint32(hdr.Mode&0o7777), 0); err != nil {
			return &os.PathError{Op: "chmod", Path: p, Err: err}
		}
	}
	if err := applyXattrs(p, hdr, isLink); err != nil {
		return err
	}
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	if hdr.Typeflag == tar.TypeDir {
		x.dirs = append(x.dirs, dirTime{path: p, atime: atime, mtime: hdr.ModTime})
		return nil
	}
	return setTimes(p, atime, hdr.ModTime)
}

// applyXattrs sets the safe subset of xattrs. trusted.* could forge
// overlayfs markers (opaque, redirect) and is dropped silently.
func applyXattrs(p string, hdr *tar.Header, isLink bool) error {
	keys := make([]string, 0, len(hdr.PAXRecords))
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, paxXattr) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := strings.TrimPrefix(k, paxXattr)
		if !allowedXattr(name) {
			continue
		}
		err := unix.Lsetxattr(p, name, []byte(hdr.PAXRecords[k]), 0)
		if err != nil && !(isLink && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP))) {
			return fmt.Errorf("setting xattr %s on %s: %w", name, p, err)
		}
	}
	return nil
}

func allowedXattr(name string) bool {
	return name == "security.capability" || strings.HasPrefix(name, "user.")
}

func setTimes(p string, atime, mtime time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimes", Path: p, Err: err}
	}
	return nil
}

// whiteout deletes name (apply) or replaces it with an overlay whiteout.
func (x *extractor) whiteout(name string) error {
	p, err := resolveEntry(x.root, name, x.mode == modeOverlay)
	if x.mode == modeApply {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
			return nil // nothing to delete
		}
		if err != nil {
			return err
		}
		return os.RemoveAll(p)
	}
	if err != nil {
		return err
	}
	if err := os.RemoveAll(p); err != nil {
		return err
	}
	if err := unix.Mknod(p, unix.S_IFCHR|0o000, 0); err != nil {
		return &os.PathError{Op: "mknod whiteout", Path: p, Err: err}
	}
	return nil
}

// opaque marks dir so lower layers' content below it is hidden.
func (x *extractor) opaque(dir string) error {
	p, err := resolveEntry(x.root, dir, true)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); errors.Is(err, unix.ENOENT) {
		if err := mkdirRoot(p); err != nil {
			return err
		}
	} else if err != nil {
		return err
	} else if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("opaque marker parent %q is not a directory", dir)
	}
	if x.mode == modeOverlay {
		if err := unix.Lsetxattr(p, opaqueXattr, []byte("y"), 0); err != nil {
			return fmt.Errorf("marking %s opaque: %w", p, err)
		}
		return nil
	}
	return x.removeOld(p, dir)
}

// removeOld deletes everything under dir (host path p) that this layer did
// not write, keeping the paths to this layer's entries.
func (x *extractor) removeOld(p, dir string) error {
	ents, err := os.ReadDir(p)
	if err != nil {
		return err
	}
	for _, e := range ents {
		rel := path.Join(dir, e.Name())
		cp := filepath.Join(p, e.Name())
		if x.added[rel] || x.below[rel] {
			if e.Type()&os.ModeType == os.ModeDir {
				if err := x.removeOld(cp, rel); err != nil {
					return err
				}
			}
			continue
		}
		if err := os.RemoveAll(cp); err != nil {
			return err
		}
	}
	return nil
}
