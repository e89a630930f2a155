package fileop

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// copyWorkers is how many regular files are copied at once. File creation
// is mostly kernel time (inode allocation, overlay lookups), which a few
// threads overlap even on a small machine.
const copyWorkers = 4

// bufPool holds the buffers of read/write copies, so copying 10,000 small
// files does not allocate 10,000 buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

// startPool lets walkDir hand regular files to workers. Every file queued
// is written before drain returns, and directory metadata is applied only
// after that, since creating a child changes its parent's mtime.
func (c *copier) startPool() {
	c.group, c.gctx = errgroup.WithContext(c.ctx)
	c.group.SetLimit(copyWorkers)
	c.dirs = c.dirs[:0]
}

// drain waits for queued copies and then finishes the directories walked,
// children before parents. walkErr is the walker's own error, if any.
func (c *copier) drain(walkErr error) error {
	err := c.group.Wait()
	c.group, c.gctx = nil, nil
	if err == nil {
		err = walkErr
	}
	if err != nil {
		return err
	}
	for _, n := range c.dirs {
		if err := c.applyMeta(n.src, n.dst, n.st); err != nil {
			return err
		}
	}
	c.dirs = c.dirs[:0]
	return nil
}

// fileJob is one regular file to copy.
type fileJob struct {
	src, dst string
	st       *unix.Stat_t
}

// maxBatch caps the files of one directory a worker copies in a row.
// Creating a file holds its directory's lock, and when ext4 is slow to
// allocate inodes (right after many deletions) workers sharing one
// directory spin on that lock; batching by directory keeps them apart.
const maxBatch = 128

// queueFiles copies files (all in one directory) on a worker when a pool
// is running, in order on this goroutine otherwise.
func (c *copier) queueFiles(batch []fileJob) error {
	if len(batch) == 0 {
		return nil
	}
	if c.group == nil {
		for _, j := range batch {
			if err := c.copyEntry(j.src, j.dst, j.st); err != nil {
				return err
			}
		}
		return nil
	}
	if err := c.gctx.Err(); err != nil {
		return err
	}
	c.group.Go(func() error {
		for _, j := range batch {
			if err := c.gctx.Err(); err != nil {
				return err
			}
			if err := c.copyRegular(j.src, j.dst, j.st); err != nil {
				return err
			}
		}
		return nil
	})
	return nil
}

// testBeforeCreate, when set by a test, runs before a worker creates a
// file, to hold files back while the walker moves on.
var testBeforeCreate func(dst string)

// replaceEntry runs mk, which creates dst exclusively. When dst exists it
// is removed and mk retried: the final component is never followed, and a
// directory is never replaced by a non-directory.
func (c *copier) replaceEntry(dst string, mk func() error) error {
	err := mk()
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	fi, lerr := os.Lstat(dst)
	if lerr != nil {
		return lerr
	}
	if fi.IsDir() {
		return fmt.Errorf("cannot replace directory %s with a non-directory", c.dstRel(dst))
	}
	if err := os.Remove(dst); err != nil {
		return err
	}
	return mk()
}

// copyRegular copies a regular file's content and metadata through file
// descriptors: no Go poller (regular files never block in it), and the
// metadata calls skip the path walk through the overlay.
func (c *copier) copyRegular(src, dst string, st *unix.Stat_t) error {
	in, err := openFd(src, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(in)
	if testBeforeCreate != nil {
		testBeforeCreate(dst)
	}
	out := -1
	err = c.replaceEntry(dst, func() error {
		var err error
		out, err = openFd(dst, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		return err
	})
	if err != nil {
		return err
	}
	err = c.copyData(in, out, st.Size)
	if err != nil {
		err = fmt.Errorf("copy %s: %w", dst, err)
	} else {
		err = c.fdMeta(in, out, dst, st)
	}
	if cerr := unix.Close(out); err == nil && cerr != nil {
		err = &os.PathError{Op: "close", Path: dst, Err: cerr}
	}
	return err
}

func openFd(p string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Open(p, flags, mode)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: p, Err: err}
		}
		return fd, nil
	}
}

// copyData copies in to out until EOF. copy_file_range is tried while it
// works (same filesystem); it fails with EXDEV from the build context into
// an overlay, after which every file goes through a pooled buffer.
func (c *copier) copyData(in, out int, size int64) error {
	if size > 0 && !c.noCFR.Load() {
		copied, err := copyRange(in, out)
		if err == nil {
			return nil
		}
		if copied > 0 || !cfrUnsupported(err) {
			return err
		}
		c.noCFR.Store(true)
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, err := unix.Read(in, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		for w := 0; w < n; {
			m, err := unix.Write(out, buf[w:n])
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return err
			}
			w += m
		}
	}
}

func copyRange(in, out int) (int64, error) {
	var total int64
	for {
		n, err := unix.CopyFileRange(in, nil, out, nil, 1<<30, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, nil
		}
		total += int64(n)
	}
}

func cfrUnsupported(err error) bool {
	return errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) ||
		errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBADF)
}

// owner is the uid:gid a copied entry gets.
func (c *copier) owner(st *unix.Stat_t) (int, int) {
	uid, gid := 0, 0
	if c.opts.Src.KeepOwner {
		uid, gid = int(st.Uid), int(st.Gid)
	}
	if c.opts.Chown != nil {
		uid, gid = c.opts.Chown.UID, c.opts.Chown.GID
	}
	return uid, gid
}

// fdMeta is applyMeta for an open regular file, in the same order.
func (c *copier) fdMeta(in, out int, dst string, st *unix.Stat_t) error {
	uid, gid := c.owner(st)
	if err := unix.Fchown(out, uid, gid); err != nil {
		return &os.PathError{Op: "chown", Path: dst, Err: err}
	}
	copyFdXattrs(in, out)
	// After chown, which clears setuid/setgid bits.
	mode := st.Mode & 0o7777
	if c.mode != nil {
		mode = c.mode(mode, false)
	}
	if err := unix.Fchmod(out, mode); err != nil {
		return &os.PathError{Op: "chmod", Path: dst, Err: err}
	}
	ts := c.times(st)
	if err := futimens(out, &ts); err != nil {
		return &os.PathError{Op: "utimes", Path: dst, Err: err}
	}
	return nil
}

// times are the atime and mtime to give a copy of st.
func (c *copier) times(st *unix.Stat_t) [2]unix.Timespec {
	at := c.clamp(time.Unix(st.Atim.Unix()))
	mt := c.clamp(time.Unix(st.Mtim.Unix()))
	return [2]unix.Timespec{unix.NsecToTimespec(at.UnixNano()), unix.NsecToTimespec(mt.UnixNano())}
}

// futimens is utimensat(fd, NULL, ts, 0), which x/sys/unix does not wrap.
func futimens(fd int, ts *[2]unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
