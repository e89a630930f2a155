package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/userns"
)

// Active is a writable snapshot: an overlay of Lowers with Upper on top,
// mounted at Merged between Mount and Unmount.
type Active struct {
	Upper  string
	Work   string
	Merged string
	// Lowers are committed snapshot dirs, top-most first as overlayfs
	// wants them. Empty when the snapshot has no parents.
	Lowers []string
	// Volatile mounts with overlayfs "volatile": no sync of the upper dir
	// at unmount (100 MB written by a COPY cost ~0.2 s there) and fsync
	// inside is a no-op. For build steps, whose result is made durable as
	// a stored blob; snapshot dirs are never synced (Unpack neither).
	// Kernels without the option mount without it.
	Volatile bool

	dir     string
	lock    *os.File  // flock held while the snapshot lives (see stale.go)
	copies  copyState // Merged is a copy, not a mount (copy.go)
	mu      sync.Mutex
	mounted bool
	removed bool
}

func (a *Active) emptyDir() string { return filepath.Join(a.dir, "empty") }

// Overlay is one overlayfs mount: Lowers top-most first, as overlayfs
// wants them (at least one), and the upper and work dirs.
type Overlay struct {
	Lowers      []string
	Upper, Work string
	// Volatile asks for overlayfs "volatile" (see Active.Volatile);
	// kernels without it mount without it.
	Volatile bool
}

// overlayOptions keep the upper dir a complete, self-contained diff: no
// metadata-only copy-ups, no redirects, no index.
var overlayOptions = [][2]string{
	{"index", "off"},
	{"metacopy", "off"},
	{"redirect_dir", "off"},
	{"xino", "off"},
}

// MountOverlay mounts o at target: the one place lade mounts an image,
// for builds and containers alike. A layer can occur twice in one chain
// (two steps that wrote identical diffs, such as two empty RUNs, have the
// same DiffID), and overlayfs refuses a repeated lower dir; every name of
// the lower copy is also in the upper one, which is always looked up
// first, so dropping all but the top-most occurrence shows the same tree.
// A failed attempt leaves nothing mounted, so a retry starts clean.
func MountOverlay(target string, o Overlay) error {
	o.Lowers = uniqueLowers(o.Lowers)
	if len(o.Lowers) == 0 {
		return errors.New("mounting overlay: no lower dir")
	}
	if err := mountNew(target, o); err != nil {
		return fmt.Errorf("mounting overlay at %s: %w%s", target, err, rootlessHint())
	}
	return nil
}

// uniqueLowers keeps the first (top-most) occurrence of each dir.
func uniqueLowers(lowers []string) []string {
	seen := make(map[string]bool, len(lowers))
	out := make([]string, 0, len(lowers))
	for _, l := range lowers {
		c := filepath.Clean(l)
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// mountLowers returns the lower dirs to mount; overlayfs needs at least one.
func (a *Active) mountLowers() []string {
	if len(a.Lowers) == 0 {
		return []string{a.emptyDir()}
	}
	return a.Lowers
}

// Mount mounts the overlay at Merged.
func (a *Active) Mount() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.removed {
		return errors.New("mounting snapshot: already removed")
	}
	if a.mounted {
		return nil
	}
	if err := a.mountOrCopy(); err != nil {
		return err
	}
	a.mounted = true
	return nil
}

// mountNew uses fsopen/fsconfig/fsmount, passing each lower separately so
// the option size limit of mount(2) does not cap the number of layers. The
// mount is attached only once complete.
func mountNew(target string, o Overlay) error {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		if errors.Is(err, unix.ENOSYS) {
			return mountLegacy(target, o)
		}
		return fmt.Errorf("fsopen: %w", err)
	}
	defer unix.Close(fsfd)
	set := func(key, val string) error {
		if err := unix.FsconfigSetString(fsfd, key, val); err != nil {
			return fmt.Errorf("fsconfig %s=%s: %w%s", key, val, err, fsLog(fsfd))
		}
		return nil
	}
	for i, l := range o.Lowers {
		if err := set("lowerdir+", l); err != nil {
			if i == 0 && errors.Is(err, unix.EINVAL) {
				// Kernels before 6.8 only know the joined lowerdir string.
				return mountLegacy(target, o)
			}
			return err
		}
	}
	if err := set("upperdir", o.Upper); err != nil {
		return err
	}
	if err := set("workdir", o.Work); err != nil {
		return err
	}
	if userns.Rootless() {
		if err := unix.FsconfigSetFlag(fsfd, "userxattr"); err != nil {
			return fmt.Errorf("fsconfig userxattr: %w%s", err, fsLog(fsfd))
		}
	}
	for _, opt := range mountOptions() {
		if err := set(opt[0], opt[1]); err != nil {
			return err
		}
	}
	if o.Volatile {
		_ = unix.FsconfigSetFlag(fsfd, "volatile") // EINVAL before Linux 5.10
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("fsconfig create: %w%s", err, fsLog(fsfd))
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fsmount: %w%s", err, fsLog(fsfd))
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

// fsLog drains the kernel's messages for a filesystem context, which
// explain most overlay configuration failures.
func fsLog(fsfd int) string {
	var msgs []string
	buf := make([]byte, 4096)
	for range 16 {
		n, err := unix.Read(fsfd, buf)
		if err != nil || n <= 0 {
			break
		}
		msgs = append(msgs, strings.TrimSpace(string(buf[:n])))
	}
	if len(msgs) == 0 {
		return ""
	}
	return " (" + strings.Join(msgs, "; ") + ")"
}

func mountLegacy(target string, o Overlay) error {
	for _, l := range o.Lowers {
		if strings.ContainsAny(l, ":,") {
			return fmt.Errorf("lower dir %q cannot be passed to mount(2)", l)
		}
	}
	opts := []string{
		"lowerdir=" + strings.Join(o.Lowers, ":"),
		"upperdir=" + o.Upper,
		"workdir=" + o.Work,
	}
	if userns.Rootless() {
		opts = append(opts, "userxattr")
	}
	for _, opt := range mountOptions() {
		opts = append(opts, opt[0]+"="+opt[1])
	}
	data := strings.Join(opts, ",")
	if len(data) >= unix.Getpagesize() {
		return fmt.Errorf("overlay options are %d bytes, over the mount(2) limit", len(data))
	}
	if o.Volatile {
		// Kernels before 5.10 refuse the option: mount without it.
		if err := unix.Mount("overlay", target, "overlay", 0, data+",volatile"); err == nil {
			return nil
		}
	}
	if err := unix.Mount("overlay", target, "overlay", 0, data); err != nil {
		return fmt.Errorf("mount: %w", err)
	}
	return nil
}

// Unmount unmounts Merged, retrying while busy and finally detaching.
func (a *Active) Unmount() error { return a.unmount(true) }

// unmount unmounts Merged; a copy (copy.go) becomes the upper dir, if
// keep, or is left for removal.
func (a *Active) unmount(keep bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.mounted {
		return nil
	}
	if a.copies != nil {
		a.mounted = false
		if !keep {
			return nil
		}
		return a.toUpper()
	}
	var err error
	for i := range 10 {
		err = unix.Unmount(a.Merged, 0)
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(time.Duration(i+1) * 10 * time.Millisecond)
	}
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(a.Merged, unix.MNT_DETACH)
	}
	if errors.Is(err, unix.EINVAL) {
		err = nil // not a mount point any more
	}
	if err != nil {
		return fmt.Errorf("unmounting %s: %w", a.Merged, err)
	}
	a.mounted = false
	return nil
}
