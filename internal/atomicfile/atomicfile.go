package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Options says how the file is written.
type Options struct {
	// Perm is the file's mode; 0 means what a plain create gives (0666
	// less the umask).
	Perm os.FileMode
	// Sync makes the file survive a power cut: its content is fsynced
	// before it appears and its directory after. Without it a crash can
	// leave the old file or an empty one, never a torn one's name.
	Sync bool
	// Wrap, when set, wraps the file fn writes to (write-back pacing, say).
	Wrap func(*os.File) io.Writer
}

// tmpInfix marks lade's temporary names: ".NAME.tmp-PID-RANDOM".
const tmpInfix = ".tmp-"

// WriteFile creates or replaces path with b.
func WriteFile(path string, b []byte, o Options) error {
	return Write(path, o, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// Write creates or replaces path with what fn writes. On any error,
// path is left as it was and nothing new remains in its directory.
func Write(path string, o Options, fn func(io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	sweepOnce(dir)
	if err := write(dir, base, path, o, fn); err != nil {
		return err
	}
	if o.Sync {
		return SyncDir(dir)
	}
	return nil
}

// write puts fn's output at path in dir, the steps of Write.
func write(dir, base, path string, o Options, fn func(io.Writer) error) error {
	f, named, err := create(dir, base)
	if err != nil {
		return err
	}
	defer f.Close()
	if named != "" {
		defer os.Remove(named) // a no-op once renamed into place
	}
	var w io.Writer = f
	if o.Wrap != nil {
		w = o.Wrap(f)
	}
	if err := fn(w); err != nil {
		return err
	}
	if o.Sync {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := f.Chmod(mode(o.Perm)); err != nil {
		return err
	}
	if named != "" {
		if err := f.Close(); err != nil {
			return err
		}
		return os.Rename(named, path)
	}
	return publish(f, dir, base, path)
}

// create opens an unnamed file in dir, or a named temporary one where
// the filesystem has no O_TMPFILE.
func create(dir, base string) (f *os.File, named string, err error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err == nil {
		return os.NewFile(uintptr(fd), filepath.Join(dir, base)), "", nil
	}
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EINVAL) {
		return nil, "", &os.PathError{Op: "open", Path: dir, Err: err}
	}
	f, err = os.OpenFile(filepath.Join(dir, tmpName(base)), os.O_RDWR|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, "", err
	}
	return f, f.Name(), nil
}

// publish links the unnamed file f at path: directly when path is free,
// else at a temporary name that is renamed over it.
func publish(f *os.File, dir, base, path string) error {
	if err := link(f, path); !errors.Is(err, unix.EEXIST) {
		return err
	}
	tmp := filepath.Join(dir, tmpName(base))
	if err := link(f, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// link gives the unnamed file f the name path, through /proc (any
// process may) or, without /proc, AT_EMPTY_PATH (CAP_DAC_READ_SEARCH).
func link(f *os.File, path string) error {
	err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(int(f.Fd())), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
	if errors.Is(err, unix.ENOENT) {
		err = unix.Linkat(int(f.Fd()), "", unix.AT_FDCWD, path, unix.AT_EMPTY_PATH)
	}
	if err != nil {
		return &os.LinkError{Op: "link", Old: f.Name(), New: path, Err: err}
	}
	return nil
}

func tmpName(base string) string {
	var r [6]byte
	_, _ = rand.Read(r[:])
	return "." + base + tmpInfix + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(r[:])
}

// ownerPid is the writer pid in a temporary name, or 0.
func ownerPid(name string) int {
	if !strings.HasPrefix(name, ".") {
		return 0
	}
	i := strings.LastIndex(name, tmpInfix)
	if i < 0 {
		return 0
	}
	pid, rnd, ok := strings.Cut(name[i+len(tmpInfix):], "-")
	if !ok || len(rnd) != 12 {
		return 0
	}
	if _, err := hex.DecodeString(rnd); err != nil {
		return 0
	}
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// SyncDir makes the names in dir durable: what a rename or link into
// dir did survives a power cut once it returns.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// swept holds the directories this process has swept: leftovers come
// only from writers that died, so once per process is enough, and a
// crowded directory (one cache key a file) is not read at every write.
var swept sync.Map

func sweepOnce(dir string) {
	if _, done := swept.LoadOrStore(filepath.Clean(dir), true); !done {
		sweep(dir)
	}
}

// sweep removes the temporary names in dir whose writer is gone.
// Best-effort: a directory it cannot read is left alone.
func sweep(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		pid := ownerPid(n)
		if pid == 0 || pid == os.Getpid() {
			continue
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			os.Remove(filepath.Join(dir, n))
		}
	}
}

// mode is perm, or for 0 what a plain create would give.
func mode(perm os.FileMode) os.FileMode {
	if perm != 0 {
		return perm
	}
	umask := unix.Umask(0)
	unix.Umask(umask)
	return 0o666 &^ os.FileMode(umask)
}
