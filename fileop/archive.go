package fileop

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/holes"
)

// decompress sniffs the compression of r by magic bytes and returns a
// reader of the plain stream (r itself when uncompressed).
func decompress(ctx context.Context, r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := pgzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		return zr, nil
	case bytes.HasPrefix(magic, []byte("BZh")):
		return io.NopCloser(bzip2.NewReader(br)), nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, err
		}
		return zr.IOReadCloser(), nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		// Like Docker, xz goes through the xz binary.
		return xzReader(ctx, br)
	}
	return io.NopCloser(br), nil
}

type cmdReader struct {
	io.ReadCloser
	cmd *exec.Cmd
}

func (c *cmdReader) Close() error {
	c.ReadCloser.Close()
	_ = c.cmd.Wait()
	return nil
}

func xzReader(ctx context.Context, r io.Reader) (io.ReadCloser, error) {
	cmd := exec.CommandContext(ctx, "xz", "-d", "-c", "-q")
	cmd.Stdin = r
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start xz: %w", err)
	}
	return &cmdReader{ReadCloser: out, cmd: cmd}, nil
}

// isArchive reports whether the regular file p is a (possibly compressed)
// tar stream, decided like BuildKit: the first header must parse.
func isArchive(ctx context.Context, p string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	rc, err := decompress(ctx, f)
	if err != nil {
		return false, nil
	}
	defer rc.Close()
	_, err = tar.NewReader(rc).Next()
	return err == nil, nil
}

// maybeExtract handles ADD of a local archive: it is unpacked into dest (as
// a directory) and true is returned; non-archives return false.
func (c *copier) maybeExtract(m srcMatch, dest string) (bool, error) {
	st, err := lstat(m.real)
	if err != nil {
		return false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false, nil
	}
	ok, err := isArchive(c.ctx, m.real)
	if err != nil || !ok {
		return false, err
	}
	dir, err := c.mkdirAll(path.Clean(dest))
	if err != nil {
		return false, err
	}
	f, err := os.Open(m.real)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := extractTar(c.ctx, f, dir, c.opts.Chown, c.opts.Limit); err != nil {
		if errors.Is(err, ErrLimit) {
			return false, err // the caller names the source
		}
		return false, fmt.Errorf("extract %s: %w", m.name, err)
	}
	return true, nil
}

// tarBlock is the size of a tar header: what an entry costs at least in
// the layer tar.
const tarBlock = 512

type dirTime struct {
	path  string
	atime time.Time
	mtime time.Time
}

// extractTar unpacks r into dir as if dir were "/" (BuildKit chroots there):
// absolute symlinks resolve inside dir, entries escaping dir are an error,
// and hardlinks may only point inside dir. Each entry is charged to limit
// before anything of it is written.
func extractTar(ctx context.Context, r io.Reader, dir string, chown *Owner, limit *Limit) error {
	rc, err := decompress(ctx, r)
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var dirs []dirTime
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return err
		}
		if err := limit.charge(tarBlock + hdr.Size); err != nil {
			return err
		}
		if name == "" {
			continue // the archive root itself
		}
		parent, err := securejoin.SecureJoin(dir, path.Dir(name))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return err
		}
		// SecureJoin resolved the parent in-root; re-check nothing below
		// it is a symlink created meanwhile by this archive.
		if fi, err := os.Lstat(parent); err != nil || !fi.IsDir() {
			return fmt.Errorf("tar entry %q: parent is not a directory", hdr.Name)
		}
		target := filepath.Join(parent, path.Base(name))
		if err := extractEntry(tr, hdr, dir, target); err != nil {
			return fmt.Errorf("tar entry %q: %w", hdr.Name, err)
		}
		if hdr.Typeflag == tar.TypeLink {
			continue // shares the target's inode and metadata
		}
		uid, gid := hdr.Uid, hdr.Gid
		if chown != nil {
			uid, gid = chown.UID, chown.GID
		}
		if err := os.Lchown(target, uid, gid); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeSymlink {
			if err := unix.Chmod(target, uint32(hdr.Mode)&0o7777); err != nil {
				return &os.PathError{Op: "chmod", Path: target, Err: err}
			}
		}
		for k, v := range hdr.PAXRecords {
			if x, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
				_ = unix.Lsetxattr(target, x, []byte(v), 0)
			}
		}
		at := hdr.AccessTime
		if at.IsZero() {
			at = hdr.ModTime
		}
		if hdr.Typeflag == tar.TypeDir {
			dirs = append(dirs, dirTime{target, at, hdr.ModTime})
			continue
		}
		if err := setTimes(target, at, hdr.ModTime); err != nil {
			return err
		}
	}
	// Directory times last: creating children bumps them.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := setTimes(dirs[i].path, dirs[i].atime, dirs[i].mtime); err != nil {
			return err
		}
	}
	return nil
}

// entryName cleans a tar member name; names climbing out of the archive
// root are rejected.
func entryName(n string) (string, error) {
	n = filepath.ToSlash(n)
	clean := path.Clean("/" + n)
	rel := path.Clean(n)
	if strings.HasPrefix(n, "/") {
		rel = path.Clean(strings.TrimLeft(n, "/"))
	}
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("tar entry %q: path escapes the destination", n)
	}
	return strings.TrimPrefix(clean, "/"), nil
}

func extractEntry(tr *tar.Reader, hdr *tar.Header, root, target string) error {
	if fi, err := os.Lstat(target); err == nil {
		// Directories merge; anything else is replaced.
		if !(fi.IsDir() && hdr.Typeflag == tar.TypeDir) {
			if err := os.RemoveAll(target); err != nil {
				return err
			}
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(target, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
	case tar.TypeReg, tar.TypeGNUSparse:
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return err
		}
		if _, err := holes.Write(f, tr); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	case tar.TypeSymlink:
		return os.Symlink(hdr.Linkname, target)
	case tar.TypeLink:
		ln, err := entryName(hdr.Linkname)
		if err != nil {
			return err
		}
		src, err := securejoin.SecureJoin(root, ln)
		if err != nil {
			return err
		}
		fi, err := os.Lstat(src)
		if err != nil {
			return fmt.Errorf("hardlink target %q: %w", hdr.Linkname, err)
		}
		if fi.IsDir() {
			return fmt.Errorf("hardlink target %q is a directory", hdr.Linkname)
		}
		return os.Link(src, target)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		mode := uint32(hdr.Mode) & 0o7777
		switch hdr.Typeflag {
		case tar.TypeChar:
			mode |= unix.S_IFCHR
		case tar.TypeBlock:
			mode |= unix.S_IFBLK
		default:
			mode |= unix.S_IFIFO
		}
		dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
		if err := unix.Mknod(target, mode, dev); err != nil {
			return &os.PathError{Op: "mknod", Path: target, Err: err}
		}
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	return nil
}

func setTimes(p string, at, mt time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(at.UnixNano()), unix.NsecToTimespec(mt.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimes", Path: p, Err: err}
	}
	return nil
}
