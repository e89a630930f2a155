package runner

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// reaperPath is where a Spec.Init container finds lade's binary.
const reaperPath = "/dev/init"

// reaperReady is the argument telling the init to close the status fd
// once its signal handlers are in place: until then, as for any pid 1
// without a handler, the kernel drops SIGTERM, so lade must not report the
// container running before.
const reaperReady = "--ready-fd=4"

// reaperArgs parses the argv of the /dev/init of an Init container: pid 1,
// exec'd by the container init as "/dev/init [--ready-fd=4] -- PATH ARGV...".
func reaperArgs() (path string, argv []string, ready bool, ok bool) {
	a := os.Args
	if len(a) < 2 || (a[0] != reaperPath && a[0] != reaperProgram) || os.Getpid() != 1 {
		return "", nil, false, false
	}
	a = a[1:]
	if a[0] == reaperReady {
		ready, a = true, a[1:]
	}
	if len(a) < 3 || a[0] != "--" {
		return "", nil, false, false
	}
	return a[1], a[2:], ready, true
}

// ForwardedSignals are the signals the init passes on to its child (and,
// but for those that concern lade itself, --sig-proxy to a container):
// everything catchable except the ones a fault raises, job control from
// the terminal and SIGURG, which the Go runtime uses for itself.
var ForwardedSignals = func() []os.Signal {
	s := []os.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2,
		unix.SIGPIPE, unix.SIGALRM, unix.SIGTERM, unix.SIGCONT, unix.SIGTSTP, unix.SIGWINCH,
		unix.SIGIO, unix.SIGPWR, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGVTALRM, unix.SIGPROF}
	for n := 34; n <= 64; n++ { // SIGRTMIN..SIGRTMAX
		s = append(s, syscall.Signal(n))
	}
	return s
}()

// reaperMain is pid 1 of an Init container: it starts argv from path,
// forwards signals to it, reaps every child that ends and exits with the
// command's status once the command ends (the kernel then kills the rest).
func reaperMain(path string, argv []string, ready bool) int {
	// Nothing in the container may open our /proc/1/exe: it is lade.
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	if ready {
		// Not for the command.
		unix.CloseOnExec(initStatusFd)
	}
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, append(ForwardedSignals, unix.SIGCHLD)...)
	sys := &syscall.SysProcAttr{Setpgid: true}
	// Only a terminal whose session we lead (-t) is ours to hand on, not
	// lade's own one passed in by -i.
	if sid, err := unix.IoctlGetInt(0, unix.TIOCGSID); err == nil && sid == os.Getpid() {
		// The command's group gets the terminal, so ^C reaches it (once).
		sys.Foreground, sys.Ctty = true, 0
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env: os.Environ(), Files: []uintptr{0, 1, 2}, Sys: sys,
	})
	if ready {
		unix.Close(initStatusFd) // EOF: lade records the container running
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "init: exec %s: %v\n", argv[0], err)
		if errors.Is(err, unix.ENOENT) {
			return ExitNotFound
		}
		return ExitNotExecutable
	}
	for sig := range sigs {
		if sig != unix.SIGCHLD {
			_ = unix.Kill(pid, sig.(syscall.Signal))
			continue
		}
		for {
			var ws unix.WaitStatus
			wpid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if wpid <= 0 {
				break
			}
			if wpid == pid {
				if ws.Signaled() {
					return 128 + int(ws.Signal())
				}
				return ws.ExitStatus()
			}
		}
	}
	return 0
}

// reaperProgram is where lade's binary is bound when it needs its host's
// dynamic loader: then the loader is /dev/init and runs it from there.
const (
	reaperLibDir  = "/dev/.lade"
	reaperProgram = reaperLibDir + "/lade"
)

// bindReaper makes lade's binary runnable inside the container at
// reaperPath and returns the argv prefix that runs it there. Everything is
// bound read-only and nosuid: writing it through /proc/1/exe fails unless
// the container may remount (CAP_SYS_ADMIN, i.e. --privileged). A
// dynamically linked lade also needs its host's loader and libraries,
// which the image may lack: they go to /dev/.lade, the loader to /dev/init.
func bindReaper(root string) ([]string, error) {
	self, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("find lade's binary: %w", err)
	}
	// /proc/self/exe names a mount of the parent's namespace, which cannot
	// be bound here: bind its path, if that is still the same file.
	var want, got unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &want); err != nil {
		return nil, fmt.Errorf("find lade's binary: %w", err)
	}
	if err := unix.Stat(self, &got); err != nil || got.Dev != want.Dev || got.Ino != want.Ino {
		return nil, fmt.Errorf("lade's binary %s was replaced or removed while running", self)
	}
	interp, libs, err := hostLibraries()
	if err != nil {
		return nil, err
	}
	if interp == "" {
		return []string{reaperPath, reaperReady, "--"}, bindRO(self, filepath.Join(root, reaperPath))
	}
	if err := unix.Mkdir(filepath.Join(root, reaperLibDir), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", reaperLibDir, err)
	}
	if err := bindRO(interp, filepath.Join(root, reaperPath)); err != nil {
		return nil, err
	}
	if err := bindRO(self, filepath.Join(root, reaperProgram)); err != nil {
		return nil, err
	}
	for name, host := range libs {
		if err := bindRO(host, filepath.Join(root, reaperLibDir, name)); err != nil {
			return nil, err
		}
	}
	return []string{reaperPath, "--library-path", reaperLibDir, reaperProgram, reaperReady, "--"}, nil
}

// bindRO binds the host file src onto a new file dst, read-only.
func bindRO(src, dst string) error {
	if err := createFile(dst); err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s for the init: %w", src, err)
	}
	if err := setAttr(dst, unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV); err != nil {
		return fmt.Errorf("make %s read-only: %w", dst, err)
	}
	return nil
}

// hostLibraries returns lade's ELF interpreter ("" when static) and its
// libraries by soname, found among the files this process has mapped.
func hostLibraries() (string, map[string]string, error) {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		return "", nil, fmt.Errorf("read lade's binary: %w", err)
	}
	defer f.Close()
	var interp string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return "", nil, fmt.Errorf("read lade's interpreter: %w", err)
			}
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	if interp == "" {
		return "", nil, nil
	}
	needed, err := f.ImportedLibraries()
	if err != nil {
		return "", nil, fmt.Errorf("read lade's libraries: %w", err)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return "", nil, err
	}
	byName := map[string]string{}
	for _, line := range strings.Split(string(maps), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 6 || !strings.HasPrefix(fields[5], "/") || byName[filepath.Base(fields[5])] != "" {
			continue
		}
		p := fields[5]
		byName[filepath.Base(p)] = p
		if lf, err := elf.Open(p); err == nil {
			if so, err := lf.DynString(elf.DT_SONAME); err == nil && len(so) == 1 {
				byName[so[0]] = p
			}
			lf.Close()
		}
	}
	libs := map[string]string{}
	for _, n := range needed {
		p, ok := byName[n]
		if !ok {
			return "", nil, fmt.Errorf("--init: lade's library %s is not mapped", n)
		}
		libs[n] = p
	}
	return interp, libs, nil
}
