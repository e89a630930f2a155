package untar

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// PAXXattr prefixes the PAX records that carry xattrs.
const PAXXattr = "SCHILY.xattr."

// Owner is the uid and gid that own every extracted entry.
type Owner struct{ UID, GID int }

// Options holds what differs between unpacking an image layer and
// extracting an ADD archive.
type Options struct {
	// Kind names the stream in errors ("layer", "tar") and Dest the
	// target directory ("root", "destination").
	Kind, Dest string
	// Owner, when set, owns every entry instead of the header's uid and
	// gid (ADD --chown).
	Owner *Owner
	// Charge is called with each entry before anything of it is written;
	// its error ends the extraction as it is (the size limit of an ADD).
	Charge func(*tar.Header) error
	// SkipRoot ignores the archive's root entry. Otherwise the root entry
	// must be a directory and its metadata goes to the target directory.
	SkipRoot bool
	// AllXattrs sets every xattr an entry carries and ignores failures, as
	// BuildKit's ADD does. Otherwise only user.* and security.capability
	// are set (trusted.* could forge overlayfs markers) and a failure is
	// an error.
	AllXattrs bool
	// Hook, when set, takes part in a layer's extraction: whiteouts,
	// opaque directories, and which entry types a layer may create.
	Hook Hook
}

// Hook sees each entry before it is extracted and each one extracted.
type Hook interface {
	// Claim is called with each entry and its clean relative name
	// (never escaping the root); an entry it claims is not extracted.
	Claim(name string, hdr *tar.Header) (bool, error)
	// Wrote is told the clean name of every entry extracted (the root
	// aside).
	Wrote(name string)
}

type dirTime struct {
	path  string
	atime time.Time
	mtime time.Time
}

type extractor struct {
	root    string
	opts    Options
	dirs    []dirTime         // directories whose times are set last
	parents map[string]string // resolved parent directories (see resolve)
	files   *writers          // small regular files' content and metadata
}

// Extract reads the uncompressed tar stream r into root as if root were
// "/": names and symlinks resolve inside it, hardlinks may only point
// inside it, and no entry can create or modify anything outside it. It
// stops at the tar end marker; callers that hash the stream must drain r
// themselves.
func Extract(ctx context.Context, r io.Reader, root string, opts Options) error {
	x := &extractor{root: filepath.Clean(root), opts: opts, parents: map[string]string{}, files: newWriters()}
	err := x.entries(ctx, tar.NewReader(r))
	// Every file is finished before the extraction returns, failed or not.
	if werr := x.files.wait(); err == nil {
		err = werr
	}
	if err != nil {
		return err
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

// entries extracts every entry of tr, stopping at the first failure
// (a file writer's too).
func (x *extractor) entries(ctx context.Context, tr *tar.Reader) error {
	for !x.files.failed() {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", x.opts.Kind, err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return err
		}
	}
	return nil
}

// entry extracts one tar entry, charging it first.
func (x *extractor) entry(hdr *tar.Header, content io.Reader) error {
	name, ok := cleanName(hdr.Name)
	if !ok {
		return x.errorf(hdr, x.escapes())
	}
	if x.opts.Charge != nil {
		if err := x.opts.Charge(hdr); err != nil {
			return err
		}
	}
	if err := x.write(name, hdr, content); err != nil {
		return x.errorf(hdr, err)
	}
	return nil
}

func (x *extractor) errorf(hdr *tar.Header, err error) error {
	return fmt.Errorf("%s entry %q: %w", x.opts.Kind, hdr.Name, err)
}

func (x *extractor) escapes() error {
	return fmt.Errorf("path escapes the %s", x.opts.Dest)
}

func (x *extractor) write(name string, hdr *tar.Header, content io.Reader) error {
	if x.opts.Hook != nil {
		if claimed, err := x.opts.Hook.Claim(name, hdr); claimed || err != nil {
			x.forget() // whiteouts and opaque markers remove paths
			return err
		}
	}
	if hdr.Typeflag == tar.TypeGNUSparse {
		// The tar reader expands sparse files into plain content.
		hdr.Typeflag = tar.TypeReg
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink,
		tar.TypeFifo, tar.TypeChar, tar.TypeBlock:
	case tar.TypeXGlobalHeader:
		// A pax global header (git archive writes one) carries no file.
		return nil
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	if SkipDevice(name, hdr.Typeflag == tar.TypeChar || hdr.Typeflag == tar.TypeBlock) {
		return nil
	}
	if name == "." {
		return x.rootEntry(hdr)
	}
	p, err := x.resolve(name)
	if err != nil {
		return err
	}
	if err := x.create(p, hdr, content); err != nil {
		return err
	}
	if x.opts.Hook != nil {
		x.opts.Hook.Wrote(name)
	}
	switch hdr.Typeflag {
	case tar.TypeLink:
		return nil // a hardlink shares the target's inode and metadata
	case tar.TypeReg:
		return nil // file set its metadata through its descriptor
	}
	return x.metadata(p, hdr)
}

func (x *extractor) rootEntry(hdr *tar.Header) error {
	if x.opts.SkipRoot {
		return nil
	}
	if hdr.Typeflag != tar.TypeDir {
		return errors.New("root entry is not a directory")
	}
	return x.metadata(x.root, hdr)
}

// create makes the file system object of hdr at p, replacing what is
// there unless both are directories (directories merge). It creates
// first and looks only when something is in the way: into an empty
// directory, that is one system call per entry.
func (x *extractor) create(p string, hdr *tar.Header, content io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.mkdir(p)
	case tar.TypeReg:
		return x.file(p, hdr, content)
	case tar.TypeSymlink:
		return x.replace(p, func() error {
			if err := unix.Symlink(hdr.Linkname, p); err != nil {
				return &os.PathError{Op: "symlink", Path: p, Err: err}
			}
			return nil
		})
	}
	// Hardlinks and nodes are rare: remove first, as a link to itself
	// must find its target gone.
	var st unix.Stat_t
	if unix.Lstat(p, &st) == nil {
		if err := x.remove(p); err != nil {
			return err
		}
	}
	if hdr.Typeflag == tar.TypeLink {
		return x.hardlink(p, hdr.Linkname)
	}
	return mknod(p, hdr)
}

// mkdir makes directory p unless one is there.
func (x *extractor) mkdir(p string) error {
	err := unix.Mkdir(p, 0o700)
	if errors.Is(err, unix.EEXIST) {
		var st unix.Stat_t
		if unix.Lstat(p, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return nil
		}
		if err = x.remove(p); err == nil {
			err = unix.Mkdir(p, 0o700)
		}
	}
	if err != nil {
		return &os.PathError{Op: "mkdir", Path: p, Err: err}
	}
	return nil
}

// replace runs mk, and again after removing p when something is there.
func (x *extractor) replace(p string, mk func() error) error {
	err := mk()
	if errors.Is(err, unix.EEXIST) {
		if err := x.remove(p); err != nil {
			return err
		}
		err = mk()
	}
	return err
}

// remove deletes p and what is below it, forgetting the resolved parents
// it may have held.
func (x *extractor) remove(p string) error {
	x.forget()
	return os.RemoveAll(p)
}

// mknod creates a fifo or device node; metadata sets its mode.
func mknod(p string, hdr *tar.Header) error {
	mode := uint32(unix.S_IFIFO)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode = unix.S_IFCHR
	case tar.TypeBlock:
		mode = unix.S_IFBLK
	}
	dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
	if err := unix.Mknod(p, mode|0o600, dev); err != nil {
		return &os.PathError{Op: "mknod", Path: p, Err: err}
	}
	return nil
}

// hardlink links p to the entry linkname names inside the root. The
// target's parent is resolved in-root; the target itself is not followed,
// so a link to a symlink links the symlink, as link(2) does.
func (x *extractor) hardlink(p, linkname string) error {
	target, ok := cleanName(linkname)
	if !ok {
		return fmt.Errorf("hardlink target %q: %w", linkname, x.escapes())
	}
	if target == "." {
		return fmt.Errorf("hardlink target %q is the root", linkname)
	}
	tp, err := Resolve(x.root, target, false)
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
	uid, gid := x.owner(hdr)
	if err := unix.Lchown(p, uid, gid); err != nil {
		return &os.PathError{Op: "lchown", Path: p, Err: err}
	}
	isLink := hdr.Typeflag == tar.TypeSymlink
	if !isLink {
		// After chown, which clears setuid/setgid.
		if err := unix.Fchmodat(unix.AT_FDCWD, p, uint32(hdr.Mode&0o7777), 0); err != nil {
			return &os.PathError{Op: "chmod", Path: p, Err: err}
		}
	}
	set := func(name string, val []byte) error { return unix.Lsetxattr(p, name, val, 0) }
	if err := x.xattrs(p, hdr, isLink, set); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeDir {
		x.dirs = append(x.dirs, dirTime{path: p, atime: atime(hdr), mtime: hdr.ModTime})
		return nil
	}
	return setTimes(p, atime(hdr), hdr.ModTime)
}

// owner is who owns the entry: Options.Owner, else the header's ids.
func (x *extractor) owner(hdr *tar.Header) (uid, gid int) {
	if o := x.opts.Owner; o != nil {
		return o.UID, o.GID
	}
	return hdr.Uid, hdr.Gid
}

// atime is the entry's access time, its mtime where the tar has none.
func atime(hdr *tar.Header) time.Time {
	if hdr.AccessTime.IsZero() {
		return hdr.ModTime
	}
	return hdr.AccessTime
}

// xattrs sets the entry's xattrs that Options allow on p, through set.
func (x *extractor) xattrs(p string, hdr *tar.Header, isLink bool, set func(string, []byte) error) error {
	keys := make([]string, 0, len(hdr.PAXRecords))
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, PAXXattr) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	all := x.opts.AllXattrs
	for _, k := range keys {
		name := strings.TrimPrefix(k, PAXXattr)
		if !all && !SafeXattr(name) {
			continue
		}
		err := set(name, []byte(hdr.PAXRecords[k]))
		if err == nil || all || isLink && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP)) {
			continue
		}
		return fmt.Errorf("setting xattr %s on %s: %w", name, p, err)
	}
	return nil
}

// SafeXattr reports whether a layer may carry the xattr name: file
// capabilities and user.*, never overlayfs's markers: trusted.overlay.*
// or, where overlayfs runs in a user namespace (userxattr),
// user.overlay.*. Skipping both always keeps a rootless build's layers
// identical to a root build's.
func SafeXattr(name string) bool {
	return name == "security.capability" ||
		strings.HasPrefix(name, "user.") && !strings.HasPrefix(name, "user.overlay.")
}

func setTimes(p string, atime, mtime time.Time) error {
	ts := timespecs(atime, mtime)
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimes", Path: p, Err: err}
	}
	return nil
}

func timespecs(atime, mtime time.Time) []unix.Timespec {
	return []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
}
