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
	"strings"
	"time"

	"github.com/lade-build/lade/internal/untar"
	"golang.org/x/sys/unix"
)

// DiffOptions tunes Diff output.
type DiffOptions struct {
	// SourceDateEpoch, if set, clamps every mtime to at most this time.
	SourceDateEpoch *time.Time
	// Exclude, if set, leaves out each path (relative, no leading "/")
	// it is true for, with everything below it: a running container's
	// mountpoint stubs.
	Exclude func(rel string) bool
}

// markerTime is the mtime of synthesized whiteout and opaque entries; a
// constant keeps Diff output reproducible.
var markerTime = time.Unix(0, 0)

// Diff writes the changes recorded in the overlay upper dir as an
// uncompressed OCI layer tar to w and returns the number of entries written
// (0 for an empty diff; a valid empty tar is still written). lowers (top-most
// first) are consulted only to drop directories that were merely copied up.
func Diff(ctx context.Context, upper string, lowers []string, w io.Writer, opts DiffOptions) (int, error) {
	d := &differ{
		ctx:    ctx,
		upper:  filepath.Clean(upper),
		lowers: lowers,
		tw:     tar.NewWriter(w),
		opts:   opts,
		links:  map[inode]string{},
	}
	if err := d.walkChildren(d.upper, "", nil); err != nil {
		return d.n, fmt.Errorf("diffing %s: %w", upper, err)
	}
	if err := d.tw.Close(); err != nil {
		return d.n, fmt.Errorf("diffing %s: %w", upper, err)
	}
	return d.n, nil
}

type inode struct{ dev, ino uint64 }

// pendingDir is a directory whose header is written only once something
// below it is emitted (or it turns out to be a real change itself).
type pendingDir struct {
	hdr     *tar.Header
	written bool
}

type differ struct {
	ctx    context.Context
	upper  string
	lowers []string
	tw     *tar.Writer
	opts   DiffOptions
	links  map[inode]string
	n      int
	buf    []byte
	// plain: the tree is a plain one (Archive), not an upper dir, so
	// nothing in it is a whiteout or an opaque marker.
	plain bool
}

func (d *differ) walkChildren(host, rel string, stack []*pendingDir) error {
	if d.plain {
		// A plain tree may be a running container's: reach its entries
		// through the directory opened here (never through a symlink a
		// process swapped in meanwhile), by its /proc/self/fd path.
		fd, err := unix.Open(host, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: host, Err: err}
		}
		defer unix.Close(fd)
		host = fmt.Sprintf("/proc/self/fd/%d", fd)
	}
	ents, err := os.ReadDir(host) // sorted by name
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		name := e.Name()
		if rel != "" {
			name = rel + "/" + name // rel is clean, or "." (Archive)
		}
		if err := d.walk(filepath.Join(host, e.Name()), name, stack); err != nil {
			return err
		}
	}
	return nil
}

func (d *differ) walk(host, rel string, stack []*pendingDir) error {
	if d.opts.Exclude != nil && d.opts.Exclude(rel) {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Lstat(host, &st); err != nil {
		return &os.PathError{Op: "lstat", Path: host, Err: err}
	}
	ft := st.Mode & unix.S_IFMT
	if ft == unix.S_IFCHR && st.Rdev == 0 && !d.plain {
		// Overlay whiteout: the lower path was deleted.
		return d.emit(stack, d.marker(path.Join(path.Dir(rel), whiteoutPrefix+path.Base(rel))))
	}
	if _, ok := fileWhiteout(path.Base(rel), &st); ok && !d.plain {
		return d.emit(stack, d.marker(rel))
	}
	hdr, err := d.header(host, rel, &st)
	if err != nil || hdr == nil {
		return err
	}
	if ft != unix.S_IFDIR {
		if ft == unix.S_IFREG && st.Nlink > 1 {
			key := inode{uint64(st.Dev), st.Ino}
			if first, ok := d.links[key]; ok {
				hdr.Typeflag = tar.TypeLink
				hdr.Linkname = first
				hdr.Size = 0
				hdr.PAXRecords = nil
				return d.emit(stack, hdr)
			}
			d.links[key] = rel
		}
		if err := d.emit(stack, hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			return d.copyFile(host, hdr.Size)
		}
		return nil
	}

	opaque := !d.plain && isOpaque(host)
	pd := &pendingDir{hdr: hdr}
	stack = append(stack, pd)
	if opaque || !d.copiedUp(rel, &st) {
		if err := d.flush(stack); err != nil {
			return err
		}
	}
	if opaque {
		if err := d.write(d.marker(path.Join(rel, opaqueMarker))); err != nil {
			return err
		}
	}
	return d.walkChildren(host, rel, stack)
}

// emit writes hdr after any ancestors not yet written.
func (d *differ) emit(stack []*pendingDir, hdr *tar.Header) error {
	if err := d.flush(stack); err != nil {
		return err
	}
	return d.write(hdr)
}

func (d *differ) flush(stack []*pendingDir) error {
	for _, p := range stack {
		if !p.written {
			if err := d.write(p.hdr); err != nil {
				return err
			}
			p.written = true
		}
	}
	return nil
}

func (d *differ) write(hdr *tar.Header) error {
	if err := d.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing header %s: %w", hdr.Name, err)
	}
	d.n++
	return nil
}

func (d *differ) copyFile(host string, size int64) error {
	f, err := os.OpenFile(host, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	// io.CopyN would allocate 32 KiB per file. A big file is read in
	// chunks bigger than the stream's write buffer (diffStream's), which
	// hands them on without copying them.
	if want := min(max(size, 128<<10), 1<<20); int64(len(d.buf)) < want {
		d.buf = make([]byte, want)
	}
	n, err := io.CopyBuffer(d.tw, io.LimitReader(f, size), d.buf)
	if err == nil && n < size {
		err = io.ErrUnexpectedEOF // the file shrank while being read
	}
	if err != nil {
		return fmt.Errorf("copying %s: %w", host, err)
	}
	return nil
}

// marker returns the header of a synthesized whiteout or opaque file.
func (d *differ) marker(name string) *tar.Header {
	return &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     0,
		ModTime:  d.clamp(markerTime),
		Format:   tar.FormatPAX,
	}
}

func (d *differ) clamp(t time.Time) time.Time {
	t = t.Truncate(time.Second)
	if e := d.opts.SourceDateEpoch; e != nil && t.After(*e) {
		t = e.Truncate(time.Second)
	}
	return t
}

// header builds the tar header for host; nil means the entry is skipped.
func (d *differ) header(host, rel string, st *unix.Stat_t) (*tar.Header, error) {
	hdr := &tar.Header{
		Name:    rel,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: d.clamp(time.Unix(st.Mtim.Unix())),
		Format:  tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		hdr.Typeflag = tar.TypeReg
		hdr.Size = st.Size
	case unix.S_IFDIR:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case unix.S_IFLNK:
		hdr.Typeflag = tar.TypeSymlink
		target, err := os.Readlink(host)
		if err != nil {
			return nil, err
		}
		hdr.Linkname = target
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor = int64(unix.Major(st.Rdev))
		hdr.Devminor = int64(unix.Minor(st.Rdev))
	default:
		return nil, nil // sockets cannot be stored in a layer
	}
	x, err := readXattrs(host)
	if err != nil {
		return nil, err
	}
	if len(x) > 0 {
		hdr.PAXRecords = x
	}
	return hdr, nil
}

// readXattrs returns the xattrs worth storing as PAX records: capabilities
// and user.*; never overlay's trusted.* bookkeeping.
func readXattrs(host string) (map[string]string, error) {
	names, err := listXattrs(host)
	if err != nil {
		return nil, err
	}
	var out map[string]string
	for _, n := range names {
		if !untar.SafeXattr(n) {
			continue
		}
		v, err := getXattr(host, n)
		if errors.Is(err, unix.ENODATA) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading xattr %s of %s: %w", n, host, err)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[untar.PAXXattr+n] = string(v)
	}
	return out, nil
}

func listXattrs(host string) ([]string, error) {
	buf := make([]byte, 1024)
	for {
		n, err := unix.Llistxattr(host, buf)
		if errors.Is(err, unix.ERANGE) {
			sz, err := unix.Llistxattr(host, nil)
			if err != nil {
				return nil, err
			}
			buf = make([]byte, sz+64)
			continue
		}
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing xattrs of %s: %w", host, err)
		}
		var names []string
		for _, s := range strings.Split(string(buf[:n]), "\x00") {
			if s != "" {
				names = append(names, s)
			}
		}
		return names, nil
	}
}

func getXattr(host, name string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(host, name, buf)
		if errors.Is(err, unix.ERANGE) {
			sz, err := unix.Lgetxattr(host, name, nil)
			if err != nil {
				return nil, err
			}
			buf = make([]byte, sz+64)
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

func isOpaque(host string) bool {
	v, err := getXattr(host, opaqueXattr())
	return err == nil && string(v) == "y"
}

// copiedUp reports whether the upper dir rel is identical in mode and
// ownership to the dir the lowers show at rel, i.e. overlay only copied it
// up to hold (possibly since removed) children.
func (d *differ) copiedUp(rel string, st *unix.Stat_t) bool {
	lst, ok := d.lowerStat(rel)
	return ok && lst.Mode == st.Mode && lst.Uid == st.Uid && lst.Gid == st.Gid
}

// lowerStat finds rel in the top-most lower that shows it, honouring
// whiteouts and opaque dirs of the layers above; false when none does.
func (d *differ) lowerStat(rel string) (unix.Stat_t, bool) {
	var st unix.Stat_t
	comps := strings.Split(rel, "/")
	for _, l := range d.lowers {
		if unix.Lstat(filepath.Join(l, rel), &st) == nil {
			whiteout := st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
			return st, !whiteout
		}
		if hasFileWhiteout(l, rel) {
			return st, false
		}
		// rel is absent here; an ancestor that is a non-dir, a whiteout or
		// opaque hides it in all layers below.
		for i := 1; i < len(comps); i++ {
			var ast unix.Stat_t
			ap := filepath.Join(l, filepath.Join(comps[:i]...))
			if unix.Lstat(ap, &ast) != nil {
				break
			}
			if ast.Mode&unix.S_IFMT != unix.S_IFDIR || isOpaque(ap) || hasFileWhiteout(l, filepath.Join(comps[:i+1]...)) {
				return st, false
			}
		}
	}
	return st, false
}
