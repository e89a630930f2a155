package userns

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// envStage marks a lade process that this package started, and what it
// is to do.
const envStage = "_LADE_USERNS"

const (
	stageHold   = "hold"   // the holder: wait for the maps, then sleep
	stageMapped = "map"    // a one-command namespace: wait, then re-exec
	stageInside = "inside" // lade as root of its namespace
)

// Rootless reports whether lade runs in a user namespace other than the
// initial one: there trusted.* xattrs, mknod of devices, cgroupfs and
// sysfs of the host's network belong to the real root, not to lade.
var Rootless = sync.OnceValue(func() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(data))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
})

// Enter makes lade root of its user namespace when it was started by an
// unprivileged user. It returns exit true when this process was only the
// parent (or a helper stage) and main should exit with code; errors are
// printed to stderr on one line.
func Enter(stderr io.Writer) (code int, exit bool) {
	switch os.Getenv(envStage) {
	case stageHold:
		hold()
	case stageMapped:
		reexecMapped()
		return 1, true
	case stageInside:
		if os.Geteuid() == 0 && Rootless() {
			return 0, false
		}
		fmt.Fprintf(stderr, "Error: rootless: lade's user namespace left it uid %d, not 0\n", os.Geteuid())
		return 1, true
	}
	if os.Geteuid() == 0 {
		return 0, false
	}
	code, err := run(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "Error: rootless: "+err.Error())
		return 1, true
	}
	return code, true
}

// run re-runs this command as root of the user's namespace.
func run(stderr io.Writer) (int, error) {
	if _, err := os.ReadFile("/proc/self/uid_map"); err != nil {
		return 0, errors.New("/proc/self/uid_map is not readable: /proc is masked or not mounted")
	}
	m, warning, err := userMaps()
	if err != nil {
		return 0, err
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
		cmd.Args[0] = os.Args[0]
		return forward(cmd, func() error {
			if err := startMapped(cmd, stageMapped, m); err != nil {
				return err
			}
			fmt.Fprint(stderr, warning+"WARNING: rootless: nsenter (util-linux) not found: this command gets a user namespace of its own, and later commands cannot exec into, stop or kill its containers\n")
			return nil
		})
	}
	pid, err := holder(m)
	if err != nil {
		return 0, err
	}
	fmt.Fprint(stderr, warning)
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("finding lade's binary: %w", err)
	}
	// --wd opens the working directory before entering, so relative
	// paths mean what they meant to the caller.
	cwd, err := os.Getwd()
	if err != nil {
		cwd = "/"
	}
	// nsenter replaces this process: no parent stays behind, so the
	// terminal's signals, job control and the exit status are lade's own.
	args := append([]string{"nsenter", "--target", fmt.Sprint(pid), "--user", "--mount", "--preserve-credentials", "--wd=" + cwd, "--", exe}, os.Args[1:]...)
	err = syscall.Exec(nsenter, args, withStage(os.Environ(), stageInside))
	return 0, fmt.Errorf("running nsenter: %w", err)
}

// startMapped starts cmd (not yet started) as lade at stage in a new user
// and mount namespace and writes its id maps. The child waits on fd 3
// until they are written: a process that execs before its uid_map exists
// is no one in the namespace and loses its capabilities there.
func startMapped(cmd *exec.Cmd, stage string, m idMaps) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer w.Close()
	cmd.ExtraFiles = []*os.File{r}
	cmd.Env = withStage(os.Environ(), stage)
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS
	err = cmd.Start()
	r.Close()
	if err != nil {
		return cloneError(err)
	}
	if err := m.write(cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return err
	}
	_, err = w.Write([]byte{1})
	return err
}

// awaitMaps blocks until the parent wrote this process's id maps; it
// exits quietly when the parent gave up (and said why).
func awaitMaps() {
	f := os.NewFile(3, "userns-sync")
	b := make([]byte, 1)
	n, _ := f.Read(b)
	f.Close()
	if n != 1 {
		os.Exit(1)
	}
}

// reexecMapped is the child of a one-command namespace: once mapped, it
// execs itself again, which as uid 0 there keeps every capability.
func reexecMapped() {
	awaitMaps()
	err := syscall.Exec("/proc/self/exe", os.Args, withStage(os.Environ(), stageInside))
	fmt.Fprintf(os.Stderr, "Error: rootless: re-executing lade: %v\n", err)
}

// hold is the holder: it keeps the namespaces alive and does nothing.
func hold() {
	awaitMaps()
	signal.Ignore(unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGPIPE)
	for {
		_ = unix.Pause()
	}
}

// withStage returns env with the stage marker set to stage.
func withStage(env []string, stage string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, envStage+"=") {
			out = append(out, kv)
		}
	}
	return append(out, envStage+"="+stage)
}

// forwarded are the signals the parent passes on. A terminal's Ctrl-C
// reaches the child too; lade takes a repeated SIGINT as one.
var forwarded = []os.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2}

// forward starts cmd with lade's stdio through start, passes signals on
// and returns its exit status (128+N for signal N, as a shell says it).
func forward(cmd *exec.Cmd, start func() error) (int, error) {
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := start(); err != nil {
		return 0, err
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	_ = cmd.Wait()
	close(done)
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return cmd.ProcessState.ExitCode(), nil
}

// cloneError names what refused the new user namespace.
func cloneError(err error) error {
	switch {
	case sysctl("user/max_user_namespaces") == "0":
		return errors.New("user namespaces are disabled (sysctl user.max_user_namespaces=0)")
	case sysctl("kernel/unprivileged_userns_clone") == "0":
		return errors.New("unprivileged user namespaces are disabled (sysctl kernel.unprivileged_userns_clone=0)")
	case sysctl("kernel/apparmor_restrict_unprivileged_userns") == "1":
		return errors.New("AppArmor restricts unprivileged user namespaces (sysctl kernel.apparmor_restrict_unprivileged_userns=1)")
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		err = errno
	}
	return fmt.Errorf("creating a user namespace was refused (%v): a seccomp or AppArmor profile blocks unshare/clone(CLONE_NEWUSER)", err)
}

func sysctl(name string) string {
	data, err := os.ReadFile("/proc/sys/" + name)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// Entered reports whether this lade is the one Enter started for an
// unprivileged user (or a process it started, such as a shim).
func Entered() bool { return os.Getenv(envStage) == stageInside }

// DefaultRoot is lade's state dir for an unprivileged user:
// $XDG_DATA_HOME/lade, else ~/.local/share/lade; "" for root.
func DefaultRoot() string {
	if !Entered() {
		return ""
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "lade")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".local", "share", "lade")
}

// Mapped reports whether id is inside the namespace side of a map file
// (/proc/self/uid_map or gid_map).
func Mapped(mapFile string, id uint32) bool {
	data, err := os.ReadFile(mapFile)
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		in, err1 := strconv.ParseUint(f[0], 10, 32)
		n, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 == nil && err2 == nil && uint64(id) >= in && uint64(id) < in+n {
			return true
		}
	}
	return false
}
