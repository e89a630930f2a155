package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"github.com/lade-build/lade/runner/seccomp"
	"golang.org/x/sys/unix"
)

const (
	// initArg0 and initEnv together mark a process as a lade container init.
	initArg0 = "lade-container-init"
	initEnv  = "_LADE_CONTAINER_INIT"
	// Fds the parent passes through ExtraFiles.
	initConfigFd = 3
	initStatusFd = 4
	initTtyFd    = 5 // the socket a -t init sends its terminal's master on
	// initFailedCode is the init's exit code after reporting a setup error.
	initFailedCode = 255
	// initGotSpec is the first byte of the status pipe once the init has
	// read its whole config: an init gone before it ran nothing of it.
	initGotSpec = 0x06
)

// Reexec must be called first thing in main() and in TestMain of any package
// whose tests run containers. In a process started by Run as the container
// init it sets the container up and execs the user command, never
// returning; anywhere else it returns false at once.
func Reexec() bool {
	if path, argv, ready, ok := reaperArgs(); ok {
		os.Exit(reaperMain(path, argv, ready))
	}
	if len(os.Args) == 0 || os.Args[0] != initArg0 || os.Getenv(initEnv) != "1" {
		return false
	}
	// Until it execs the command, nothing in the container may open this
	// process's /proc/PID/exe, lade's binary (CVE-2019-5736); execve
	// makes the command dumpable again.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	// Mounts, pivot_root and credentials must all happen on one thread,
	// the one that finally calls execve.
	runtime.LockOSThread()
	status := os.NewFile(initStatusFd, "init-status")
	code, err := containerInit()
	if err != nil {
		fmt.Fprintf(status, "%v\n", err)
		os.Exit(initFailedCode)
	}
	os.Exit(code)
	return true
}

// execError is a failure to exec the user command: a message for its stderr
// and the shell-style exit code.
type execError struct {
	code int
	msg  string
}

func (e *execError) Error() string { return e.msg }

// containerInit runs in the new namespaces. It only returns on failure: an
// exit code with a message already written to stderr, or a setup error.
// The steps keep runc's order: cgroups and namespaces while host paths
// still resolve, the root filesystem, then privileges, then execve.
func containerInit() (int, error) {
	cfg, err := acceptConfig()
	if err != nil {
		return 0, err
	}
	if err := enterNamespaces(cfg); err != nil {
		return 0, err
	}
	if err := setupContainer(cfg); err != nil {
		return 0, err
	}
	if err := dropPrivileges(cfg); err != nil {
		return 0, err
	}
	return execCommand(cfg)
}

// acceptConfig reads the config and tells the parent it has it.
func acceptConfig() (*initConfig, error) {
	unix.CloseOnExec(initStatusFd)
	cfg, err := readConfig()
	if err != nil {
		return nil, err
	}
	if _, err := unix.Write(initStatusFd, []byte{initGotSpec}); err != nil {
		return nil, fmt.Errorf("acknowledge config: %w", err)
	}
	return cfg, nil
}

// enterNamespaces joins the config's cgroups and takes the mount (and
// network, and cgroup) namespaces.
func enterNamespaces(cfg *initConfig) error {
	// Lowering it needs CAP_SYS_RESOURCE, which the init still has.
	if cfg.OOMScore != nil {
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*cfg.OOMScore)), 0); err != nil {
			return fmt.Errorf("setting oom_score_adj: %w", err)
		}
	}
	// Host paths, before the mount namespace changes. "0" moves the whole
	// thread group, every thread of this runtime.
	for _, dir := range cfg.Cgroups {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("0"), 0); err != nil {
			return fmt.Errorf("joining cgroup %s: %w", dir, err)
		}
	}
	// The mount namespace is taken only now, on this locked thread, so it
	// copies the host's mounts as they are when the config came: an init
	// started ahead of its step (a spare) still sees the step's rootfs.
	// The other threads of lade's runtime stay behind and die at execve.
	flags := unix.CLONE_NEWNS
	if cfg.NetNS != "" {
		if err := joinNetNS(cfg.NetNS); err != nil {
			return err
		}
	} else if cfg.NewNet {
		flags |= unix.CLONE_NEWNET
	}
	if err := unix.Unshare(flags); err != nil {
		return fmt.Errorf("new mount namespace: %w", err)
	}
	// We are in the container's cgroups now (joined above or placed by
	// Started), so the new namespace is rooted there.
	if cfg.CgroupNS {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("new cgroup namespace: %w", err)
		}
	}
	return nil
}

// setupContainer mounts and pivots into the root filesystem, brings up
// loopback, names the host, applies read-only and masked paths and opens
// the terminal.
func setupContainer(cfg *initConfig) error {
	if err := setupRootfs(cfg); err != nil {
		return err
	}
	if cfg.NewNet {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	if cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			return fmt.Errorf("sethostname %q: %w", cfg.Hostname, err)
		}
	}
	if cfg.Domain != "" {
		if err := unix.Setdomainname([]byte(cfg.Domain)); err != nil {
			return fmt.Errorf("setdomainname %q: %w", cfg.Domain, err)
		}
	}
	if err := writeSysctls(cfg.Sysctls); err != nil {
		return err
	}
	if err := setRlimits(cfg.Rlimits); err != nil {
		return err
	}
	if err := applyPaths(cfg.Security); err != nil {
		return err
	}
	if cfg.Tty {
		return setupConsole(cfg)
	}
	return nil
}

// dropPrivileges trims the bounding set, installs the seccomp filter while
// CAP_SYS_ADMIN is still there (unless no_new_privs defers it to
// execCommand), switches to the spec's user and trims the capabilities.
func dropPrivileges(cfg *initConfig) error {
	if err := dropBounding(cfg.Security); err != nil {
		return err
	}
	if !cfg.Security.NoNewPrivileges {
		// Still CAP_SYS_ADMIN here; see security.Seccomp.
		if err := seccomp.Install(cfg.Security.Seccomp); err != nil {
			return err
		}
	}
	if err := setCredentials(cfg); err != nil {
		return err
	}
	return limitCaps(cfg.Security)
}

// execCommand finds the command, closes inherited fds, installs a
// no_new_privs filter last and execs the command (or the small init
// with the command). It returns only on failure.
func execCommand(cfg *initConfig) (int, error) {
	if err := os.Chdir(cfg.Cwd); err != nil {
		return 0, fmt.Errorf("chdir to cwd: %w", err)
	}
	path, err := lookPath(cfg.Args[0], cfg.Env)
	if err != nil {
		return execFailed(err)
	}
	if err := closeExtraFds(); err != nil {
		return 0, err
	}
	if cfg.Security.NoNewPrivileges {
		if err := seccomp.Install(cfg.Security.Seccomp); err != nil {
			return 0, err
		}
	}
	if cfg.Init {
		// The init finds the command by the path resolved here, so 126
		// and 127 keep their meaning; it closes the status fd when ready.
		if _, err := unix.FcntlInt(initStatusFd, unix.F_SETFD, 0); err != nil {
			return 0, fmt.Errorf("pass the status fd to the init: %w", err)
		}
		err = unix.Exec(reaperPath, append(append(cfg.initArgv, path), cfg.Args...), cfg.Env)
		return 0, fmt.Errorf("exec %s: %w", reaperPath, err)
	}
	err = unix.Exec(path, cfg.Args, cfg.Env)
	code := ExitNotExecutable
	if errors.Is(err, unix.ENOENT) {
		code = ExitNotFound
	}
	return execFailed(&execError{code: code, msg: fmt.Sprintf("exec %s: %v", cfg.Args[0], err)})
}

// setupConsole opens the container's terminal, hands its master to the
// parent and makes it this process's controlling terminal and stdio.
func setupConsole(cfg *initConfig) error {
	master, slave, err := openPty(int(cfg.UID), cfg.TtySize)
	if err != nil {
		return err
	}
	err = sendFd(initTtyFd, master)
	unix.Close(master)
	if err != nil {
		unix.Close(slave)
		return err
	}
	unix.Close(initTtyFd)
	return makeControlling(slave)
}

// execFailed reports an exec error on the container's stderr.
func execFailed(err error) (int, error) {
	var ee *execError
	if !errors.As(err, &ee) {
		return 0, err
	}
	fmt.Fprintln(os.Stderr, ee.msg)
	return ee.code, nil
}

func readConfig() (*initConfig, error) {
	f := os.NewFile(initConfigFd, "init-config")
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var cfg initConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	if len(cfg.Args) == 0 {
		return nil, errors.New("config has no command")
	}
	return &cfg, nil
}

// setCredentials switches this thread, the one that execs the command, to
// the spec's user with raw per-thread syscalls (as runc does). syscall's
// setters go through glibc's setxid broadcast in a cgo-linked lade, which
// aborts the process, instead of failing, when a seccomp profile denies
// the call; the other threads die at execve anyway.
func setCredentials(cfg *initConfig) error {
	var groups *uint32
	if len(cfg.Groups) > 0 {
		groups = &cfg.Groups[0]
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(cfg.Groups)), uintptr(unsafe.Pointer(groups)), 0); e != 0 && !(e == unix.EPERM && setgroupsDenied()) {
		return fmt.Errorf("setgroups %v: %w", cfg.Groups, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(cfg.GID), uintptr(cfg.GID), uintptr(cfg.GID)); e != 0 {
		return fmt.Errorf("setgid %d: %w", cfg.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(cfg.UID), uintptr(cfg.UID), uintptr(cfg.UID)); e != 0 {
		return fmt.Errorf("setuid %d: %w", cfg.UID, e)
	}
	// A credential change clears the parent-death signal; set it again.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("set parent death signal: %w", err)
	}
	return nil
}

// lookPath resolves name like execvp, using the PATH from env.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if err := checkExecutable(name); err != nil {
			return "", err
		}
		return name, nil
	}
	pathEnv, ok := "", false
	for _, kv := range env {
		if v, found := strings.CutPrefix(kv, "PATH="); found {
			pathEnv, ok = v, true
		}
	}
	if !ok {
		pathEnv = defaultPath
	}
	var denied error
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		err := checkExecutable(p)
		if err == nil {
			return p, nil
		}
		var ee *execError
		if errors.As(err, &ee) && ee.code == ExitNotExecutable && denied == nil {
			denied = err
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", &execError{code: ExitNotFound,
		msg: fmt.Sprintf("exec: %q: executable file not found in $PATH", name)}
}

// checkExecutable tells a missing file (127) from one that cannot be run (126).
func checkExecutable(p string) error {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		code := ExitNotFound
		if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			code = ExitNotExecutable
		}
		return &execError{code: code, msg: fmt.Sprintf("exec: %q: stat %s: %v", p, p, err)}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return &execError{code: ExitNotExecutable, msg: fmt.Sprintf("exec: %q: is a directory", p)}
	}
	if err := unix.Access(p, unix.X_OK); err != nil {
		return &execError{code: ExitNotExecutable, msg: fmt.Sprintf("exec: %q: permission denied", p)}
	}
	return nil
}

// closeExtraFds marks every fd above stderr close-on-exec so nothing of
// lade's (in particular no host directory fd, CVE-2024-21626) reaches the
// command. The Go runtime still uses some of them, so they are not closed.
func closeExtraFds() error {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list fds: %w", err)
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 {
			continue
		}
		// The fd reading the directory is gone already; EBADF is fine.
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && !errors.Is(err, unix.EBADF) {
			return fmt.Errorf("mark fd %d close-on-exec: %w", fd, err)
		}
	}
	return nil
}

// loopbackUp brings lo up in a new network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: get flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: set up: %w", err)
	}
	return nil
}

// joinNetNS moves this thread into the network namespace at path, one its
// supervisor made and wired before the container started.
func joinNetNS(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("network namespace: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("joining network namespace: %w", err)
	}
	return nil
}
