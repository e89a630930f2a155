package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// devices are bind-mounted from the host's /dev into the container's.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// devLinks are the symlinks every container /dev has.
var devLinks = [][2]string{
	{"/proc/self/fd", "fd"},
	{"/proc/self/fd/0", "stdin"},
	{"/proc/self/fd/1", "stdout"},
	{"/proc/self/fd/2", "stderr"},
	{"pts/ptmx", "ptmx"},
}

// setupRootfs builds the container's mount tree and pivots into it. It runs
// in the init's private mount namespace, so nothing propagates to the host.
func setupRootfs(cfg *initConfig) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / rprivate: %w", err)
	}
	root := cfg.Rootfs
	// pivot_root needs the new root to be a mount point.
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs onto itself: %w", err)
	}
	proc, err := target(root, "/proc", false)
	if err != nil {
		return err
	}
	if err := unix.Mount("proc", proc, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return procMountError(err)
	}
	if err := setupDev(root, cfg.ShmSize); err != nil {
		return err
	}
	for _, d := range cfg.Devices {
		if err := createDevice(root, d); err != nil {
			return err
		}
	}
	if cfg.Init {
		argv, err := bindReaper(root)
		if err != nil {
			return err
		}
		cfg.initArgv = argv
	}
	if err := setupSys(root, cfg.NewNet); err != nil {
		return err
	}
	stage, err := stageFiles(root, cfg.Mounts)
	if err != nil {
		return err
	}
	for _, m := range cfg.Mounts {
		if err := mountOne(root, m); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.Type, m.Target, err)
		}
	}
	if err := stage.remove(); err != nil {
		return err
	}
	return pivotRoot(root)
}

// fileStage holds the content of "file" mounts (secrets) while they are
// bound into place: a tmpfs on a dir of the container's fresh /dev,
// mounted in the init's private mount namespace. The host never sees it,
// and it dies with the namespace, even when lade is SIGKILLed (the init
// and with it the container have lade's death as their death signal).
type fileStage struct {
	dir string
	fd  int // O_PATH of the tmpfs root: binds from it survive a mount over /dev
}

// stagingDir is where the stage is mounted, below the container's /dev.
const stagingDir = "/dev/.lade-files"

// stageFiles writes every "file" mount's content to the stage and points
// its Source there; nil when there is none.
func stageFiles(root string, mounts []initMount) (*fileStage, error) {
	if !slices.ContainsFunc(mounts, func(m initMount) bool { return m.Type == "file" }) {
		return nil, nil
	}
	dir := filepath.Join(root, stagingDir)
	if err := unix.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create file mount stage: %w", err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700,size=16m"); err != nil {
		return nil, fmt.Errorf("mount file mount stage: %w", err)
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open file mount stage: %w", err)
	}
	st := &fileStage{dir: dir, fd: fd}
	for i := range mounts {
		m := &mounts[i]
		if m.Type != "file" {
			continue
		}
		name := "f" + strconv.Itoa(i)
		if err := writeStaged(fd, name, m); err != nil {
			return nil, fmt.Errorf("mount file on %s: %w", m.Target, err)
		}
		m.Source = fmt.Sprintf("/proc/self/fd/%d/%s", fd, name)
	}
	return st, nil
}

func writeStaged(dirfd int, name string, m *initMount) error {
	fd, err := unix.Openat(dirfd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if _, err := f.Write(m.Content); err != nil {
		return err
	}
	if err := unix.Fchown(fd, m.UID, m.GID); err != nil {
		return err
	}
	return unix.Fchmod(fd, m.FileMode)
}

// remove detaches the stage once its files are bound: each bind keeps its
// file, and nothing of the stage is left in the container's /dev.
func (st *fileStage) remove() error {
	if st == nil {
		return nil
	}
	defer unix.Close(st.fd)
	if err := unix.Unmount(fmt.Sprintf("/proc/self/fd/%d", st.fd), unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount file mount stage: %w", err)
	}
	// A mount over /dev hides the dir; it is empty either way.
	_ = unix.Rmdir(st.dir)
	return nil
}

// target resolves a container path inside root and makes sure it exists;
// the parent created the stubs on the rootfs, this covers paths on earlier
// container mounts such as the /dev tmpfs.
func target(root, path string, isFile bool) (string, error) {
	p, err := securejoin.SecureJoin(root, path)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	if _, err := os.Lstat(p); err == nil {
		return p, nil
	}
	dir := p
	if isFile {
		dir = filepath.Dir(p)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create mount target %s: %w", path, err)
	}
	if isFile {
		if err := createFile(p); err != nil && !errors.Is(err, unix.EEXIST) {
			return "", fmt.Errorf("create mount target %s: %w", path, err)
		}
	}
	return p, nil
}

func setupDev(root string, shmSize int64) error {
	dev, err := target(root, "/dev", false)
	if err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return fmt.Errorf("mount /dev: %w", err)
	}
	for _, name := range devices {
		p := filepath.Join(dev, name)
		if err := createFile(p); err != nil {
			return fmt.Errorf("create /dev/%s: %w", name, err)
		}
		if err := unix.Mount("/dev/"+name, p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /dev/%s: %w", name, err)
		}
	}
	pts := filepath.Join(dev, "pts")
	if err := unix.Mkdir(pts, 0o755); err != nil {
		return fmt.Errorf("create /dev/pts: %w", err)
	}
	if err := unix.Mount("devpts", pts, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, devptsOptions()); err != nil {
		return fmt.Errorf("mount /dev/pts: %w", err)
	}
	shm := filepath.Join(dev, "shm")
	if err := unix.Mkdir(shm, 0o755); err != nil {
		return fmt.Errorf("create /dev/shm: %w", err)
	}
	if shmSize <= 0 {
		shmSize = 64 << 20
	}
	if err := unix.Mount("shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC,
		fmt.Sprintf("mode=1777,size=%d", shmSize)); err != nil {
		return fmt.Errorf("mount /dev/shm: %w", err)
	}
	// mqueue is optional: kernels without CONFIG_POSIX_MQUEUE lack it.
	mq := filepath.Join(dev, "mqueue")
	if err := unix.Mkdir(mq, 0o755); err == nil {
		if err := unix.Mount("mqueue", mq, "mqueue", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			_ = unix.Rmdir(mq)
		}
	}
	for _, l := range devLinks {
		if err := unix.Symlink(l[0], filepath.Join(dev, l[1])); err != nil {
			return fmt.Errorf("symlink /dev/%s: %w", l[1], err)
		}
	}
	return nil
}

// setupSys mounts /sys read-only: a recursive bind of the host's when the
// network namespace is shared, a fresh sysfs showing the new one otherwise.
func setupSys(root string, newNet bool) error {
	sys, err := target(root, "/sys", false)
	if err != nil {
		return err
	}
	if newNet {
		if err := unix.Mount("sysfs", sys, "sysfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("mount /sys: %w", err)
		}
		return nil
	}
	if err := unix.Mount("/sys", sys, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind /sys: %w", err)
	}
	if err := makeReadonly(sys); err != nil {
		return fmt.Errorf("make /sys read-only: %w", err)
	}
	return nil
}

// mountOne applies one spec mount.
func mountOne(root string, m initMount) error {
	p, err := target(root, m.Target, m.IsFile)
	if err != nil {
		return err
	}
	switch m.Type {
	case "tmpfs":
		flags := m.Flags
		if m.ReadOnly {
			flags |= unix.MS_RDONLY
		}
		return unix.Mount("tmpfs", p, "tmpfs", flags, m.Data)
	case "bind", "file":
		if err := unix.Mount(m.Source, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		if m.Flags != 0 {
			if err := setAttr(p, m.Flags); err != nil {
				return err
			}
		}
		if m.ReadOnly {
			return makeReadonly(p)
		}
		return nil
	}
	return fmt.Errorf("unsupported mount type %q", m.Type)
}

// makeReadonly makes the mount at p and every mount below it read-only
// without clearing their other flags.
func makeReadonly(p string) error { return setAttr(p, unix.MS_RDONLY) }

// setAttr adds MS_RDONLY/NOSUID/NODEV/NOEXEC to the mount at p and the
// mounts below it with mount_setattr; unlike a bind remount that keeps the
// flags the source mounts already had.
func setAttr(p string, msFlags uintptr) error {
	var attr uint64
	for _, f := range []struct {
		ms   uintptr
		attr uint64
	}{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY},
		{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV},
		{unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
	} {
		if msFlags&f.ms != 0 {
			attr |= f.attr
		}
	}
	err := unix.MountSetattr(-1, p, unix.AT_RECURSIVE|unix.AT_SYMLINK_NOFOLLOW, &unix.MountAttr{Attr_set: attr})
	if !errors.Is(err, unix.ENOSYS) {
		return err
	}
	return remountFlags(p, msFlags)
}

// remountFlags is the pre-5.12 fallback: remount the top mount only,
// keeping the flags it already has.
func remountFlags(p string, msFlags uintptr) error {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return err
	}
	keep := uintptr(st.Flags) & (unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC |
		unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	return unix.Mount("", p, "", unix.MS_REMOUNT|unix.MS_BIND|keep|msFlags, "")
}

// pivotRoot makes root the new / and detaches the old root. Pivoting "."
// onto "." stacks the old root on the new one, so no put_old directory has
// to be created (and later removed) in the rootfs.
func pivotRoot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir to rootfs: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir to new root: %w", err)
	}
	return nil
}
