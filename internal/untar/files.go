package untar

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/holes"
)

// smallFile is the largest file whose content is read into memory and
// written by a writer goroutine while the stream goes on; larger files
// are written from the stream by the extracting goroutine itself.
const smallFile = 1 << 20

// smallBufs holds the buffers of small files on their way to a writer.
var smallBufs = sync.Pool{New: func() any { b := make([]byte, smallFile); return &b }}

// writers finish regular files in parallel: content, owner, mode, xattrs
// and times, each through the file's own descriptor. The extracting
// goroutine keeps every change to the tree (create, link, remove) in the
// archive's order; a writer only fills an inode already in place, so a
// hardlink to it or a later entry replacing it sees the same result as a
// serial extraction.
type writers struct {
	g    errgroup.Group
	fail atomic.Bool
}

func newWriters() *writers {
	w := &writers{}
	// The work is system calls, which block their thread: a few more
	// than the CPUs keeps both the disk and the CPUs busy, and bounds the
	// memory to (limit+1) small files.
	w.g.SetLimit(2 * runtime.GOMAXPROCS(0))
	return w
}

// goFinish runs finish on a writer, blocking while all are busy.
func (w *writers) goFinish(finish func() error) {
	w.g.Go(func() error {
		err := finish()
		if err != nil {
			w.fail.Store(true)
		}
		return err
	})
}

func (w *writers) failed() bool { return w.fail.Load() }

// wait returns once every writer is done, with the first failure.
func (w *writers) wait() error { return w.g.Wait() }

// file creates the regular file p (replacing what is there) and has its
// content and metadata written: a small file's by a writer, a large
// one's here, from the stream.
func (x *extractor) file(p string, hdr *tar.Header, content io.Reader) error {
	var fd int
	err := x.replace(p, func() (err error) {
		fd, err = unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return &os.PathError{Op: "create", Path: p, Err: err}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if hdr.Size > smallFile {
		return x.finish(fd, p, hdr, content)
	}
	bp := smallBufs.Get().(*[]byte)
	buf := (*bp)[:hdr.Size]
	if _, err := io.ReadFull(content, buf); err != nil {
		smallBufs.Put(bp)
		unix.Close(fd)
		return fmt.Errorf("writing %s: %w", p, err)
	}
	x.files.goFinish(func() error {
		defer smallBufs.Put(bp)
		if err := x.finish(fd, p, hdr, bytes.NewReader(buf)); err != nil {
			return x.errorf(hdr, err)
		}
		return nil
	})
	return nil
}

// finish writes content into the new file fd, sets its metadata (owner
// first: chown clears setuid and setgid, chmod sets them) and closes it.
func (x *extractor) finish(fd int, p string, hdr *tar.Header, content io.Reader) error {
	f := fdFile(fd)
	err := f.fill(p, content)
	if err == nil {
		err = x.fileMetadata(fd, p, hdr)
	}
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = &os.PathError{Op: "close", Path: p, Err: cerr}
	}
	return err
}

func (x *extractor) fileMetadata(fd int, p string, hdr *tar.Header) error {
	uid, gid := x.owner(hdr)
	if err := unix.Fchown(fd, uid, gid); err != nil {
		return &os.PathError{Op: "chown", Path: p, Err: err}
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return &os.PathError{Op: "chmod", Path: p, Err: err}
	}
	set := func(name string, val []byte) error { return unix.Fsetxattr(fd, name, val, 0) }
	if err := x.xattrs(p, hdr, false, set); err != nil {
		return err
	}
	if err := futimens(fd, timespecs(atime(hdr), hdr.ModTime)); err != nil {
		return &os.PathError{Op: "utimes", Path: p, Err: err}
	}
	return nil
}

// futimens is utimensat(fd, NULL, ts, 0), which x/sys/unix does not
// offer: the times of the open file itself.
func futimens(fd int, ts []unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// fdFile is a bare descriptor as a holes.File.
type fdFile int

func (f fdFile) WriteAt(b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		m, err := unix.Pwrite(int(f), b[n:], off+int64(n))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return n, err
		case m == 0:
			return n, io.ErrShortWrite
		}
		n += m
	}
	return n, nil
}

func (f fdFile) Truncate(size int64) error { return unix.Ftruncate(int(f), size) }

// fill writes content into f; zero blocks stay holes, so a sparse file
// (or any run of zeros) takes no disk space for them.
func (f fdFile) fill(p string, content io.Reader) error {
	if _, err := holes.Write(f, content); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}
