package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/osthread"
	"github.com/lade-build/lade/runner/caps"
	"github.com/lade-build/lade/runner/seccomp"
)

// ExecSpec describes a process to start inside a running container.
type ExecSpec struct {
	Args            []string
	Env             []string
	Cwd             string
	UID, GID        uint32
	AdditionalGIDs  []uint32
	Capabilities    []string // as Spec.Capabilities
	NoNewPrivileges bool
	Seccomp         *seccomp.Profile // as Spec.Seccomp
	Stdin           io.Reader
	Stdout, Stderr  io.Writer
	// Prepare, when set, runs on the thread that forks the command before
	// it joins the namespaces, with that thread's host tid (e.g. to move
	// it into per-thread v1 cgroups the command then starts in).
	Prepare func(tid int) error
	// Cgroup, when set, is a cgroup v2 directory the command is cloned
	// straight into (CLONE_INTO_CGROUP). Where that fails (a seccomp
	// filter refusing clone3, a kernel before 5.7, a cgroup2 mounted with
	// nsdelegate) the command starts where lade is and Started must move
	// it.
	Cgroup string
	// AllDevices, Devices and DeviceCgroup are the container's, as in
	// Spec: where the host has a v1 devices hierarchy, the command starts
	// in DeviceCgroup there, with the same rules (see execDevicesV1); on
	// cgroup v2 alone they are Cgroup's.
	AllDevices   bool
	Devices      []Device
	DeviceCgroup string
	// Started gets the new process's host pid right after it started.
	Started func(pid int) error
	// Tty, TtySize and Console are as in Spec: the terminal comes from
	// the container's devpts.
	Tty     bool
	TtySize WindowSize
	Console func(master *os.File)
}

// joinOrder lists the namespaces Exec enters; mnt comes last because the
// /proc paths of the others are opened before it.
var joinOrder = []struct {
	name string
	flag int
}{
	{"ipc", unix.CLONE_NEWIPC},
	{"uts", unix.CLONE_NEWUTS},
	{"net", unix.CLONE_NEWNET},
	{"pid", unix.CLONE_NEWPID},
	{"cgroup", unix.CLONE_NEWCGROUP},
	{"mnt", unix.CLONE_NEWNS},
}

// Exec runs spec inside the namespaces of the container whose init has
// host pid pid, waits for it and returns its exit status like Run.
//
// It needs no helper process: a goroutine locks its OS thread, gives the
// thread its own fs context (CLONE_FS) so it may switch mount namespace,
// joins the container's namespaces and forks the command from there. The
// thread is never unlocked, so Go discards it when the goroutine ends.
func (r *Runner) Exec(ctx context.Context, pid int, spec *ExecSpec) (int, error) {
	if spec == nil || len(spec.Args) == 0 || spec.Args[0] == "" {
		return -1, errors.New("runner: exec: no command")
	}
	sec, err := execSecurity(spec)
	if err != nil {
		return -1, err
	}
	if err := checkEntered(pid); err != nil {
		return -1, err
	}
	// The child runs lade's code in the container's pid namespace between
	// fork and execve; non-dumpable (inherited by fork, reset by execve),
	// nothing in there can open its /proc/PID/exe (CVE-2019-5736).
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return -1, fmt.Errorf("runner: exec: set non-dumpable: %w", err)
	}
	var stdin *os.File
	if !spec.Tty {
		in, stop, err := stdinPipe(spec.Stdin)
		if err != nil {
			return -1, fmt.Errorf("runner: exec: %w", err)
		}
		defer stop()
		stdin = in
	}
	cmd, master, err := startInThread(ctx, pid, spec, sec, stdin)
	if err != nil {
		var ee *execError
		if errors.As(err, &ee) {
			if spec.Stderr != nil {
				fmt.Fprintln(spec.Stderr, ee.msg)
			}
			return ee.code, nil
		}
		return -1, err
	}
	if master != nil {
		if spec.Console != nil {
			spec.Console(master)
		}
		con := startConsole(master, spec.Stdin, spec.Stdout)
		// A background process of the command may keep the terminal open:
		// what it writes within a moment of the command's end still shows.
		defer con.finish(outputGrace)
	}
	if spec.Started != nil {
		if err := spec.Started(cmd.Process.Pid); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return -1, fmt.Errorf("runner: exec: %w", err)
		}
	}
	waitErr := cmd.Wait()
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	return exitStatus(cmd, waitErr)
}

// execSecurity is the bounding set, no_new_privs and compiled seccomp
// filter spec asks for.
func execSecurity(spec *ExecSpec) (security, error) {
	var set uint64
	limit := spec.Capabilities != nil
	if limit {
		var err error
		if set, err = caps.Set(spec.Capabilities); err != nil {
			return security{}, fmt.Errorf("runner: exec: %w", err)
		}
	}
	sec := security{LimitCaps: limit, Caps: set, NoNewPrivileges: spec.NoNewPrivileges}
	filter, err := seccomp.CompileForExec(spec.Seccomp, sec.kept())
	if err != nil {
		return security{}, fmt.Errorf("runner: exec: %w", err)
	}
	sec.Seccomp = filter
	return sec, nil
}

// checkEntered refuses an init whose root is still ours: it has not
// pivoted into the container yet (and runs lade's code), so a command
// joining it would see the host.
func checkEntered(pid int) error {
	var ours, theirs unix.Stat_t
	if err := unix.Stat("/", &ours); err != nil {
		return fmt.Errorf("runner: exec: %w", err)
	}
	if err := unix.Stat(fmt.Sprintf("/proc/%d/root", pid), &theirs); err != nil {
		return fmt.Errorf("runner: exec: container process %d: %w", pid, err)
	}
	if ours.Dev == theirs.Dev && ours.Ino == theirs.Ino {
		return fmt.Errorf("runner: exec: container process %d has not entered its root filesystem yet", pid)
	}
	return nil
}

// startInThread runs startJoined on a thread that ends once the command
// started, which takes it out of the container's namespaces and cgroups
// at once: in a limited memory cgroup, lade would otherwise be the OOM
// killer's pick. It closes stdin, the command's end, afterwards.
func startInThread(ctx context.Context, pid int, spec *ExecSpec, sec security, stdin *os.File) (cmd *exec.Cmd, master *os.File, err error) {
	osthread.Run(func() {
		cmd, master, err = startJoined(ctx, pid, spec, sec, stdin)
	})
	if stdin != nil {
		stdin.Close() // the command's end
	}
	return cmd, master, err
}

// startJoined runs on a locked thread that it moves into the container.
// Without a terminal the command gets stdin (nil for /dev/null) and
// pipes for its output, in a session of its own (see stdio_linux.go).
func startJoined(ctx context.Context, pid int, spec *ExecSpec, sec security, stdin *os.File) (*exec.Cmd, *os.File, error) {
	fds, err := openNamespaces(pid)
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	if err != nil {
		return nil, nil, err
	}
	// A host path: opened before the mount namespace changes.
	cgFd, err := openCgroup(spec.Cgroup)
	if err != nil {
		return nil, nil, err
	}
	defer unix.Close(cgFd)
	if err := joinNamespaces(fds, spec, sec); err != nil {
		return nil, nil, err
	}
	cwd := spec.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if err := unix.Chdir(cwd); err != nil {
		return nil, nil, &execError{code: ExitNotExecutable, msg: fmt.Sprintf("exec: chdir to %s: %v", cwd, err)}
	}
	path, err := lookPath(spec.Args[0], spec.Env)
	if err != nil {
		return nil, nil, err
	}
	var master, slave *os.File
	if spec.Tty {
		// This thread is in the container's mount namespace, so
		// /dev/ptmx is the container's devpts.
		m, sl, err := openPty(int(spec.UID), spec.TtySize)
		if err != nil {
			return nil, nil, fmt.Errorf("runner: exec: %w", err)
		}
		master, slave = masterFile(m), os.NewFile(uintptr(sl), "pty-slave")
		defer slave.Close()
	}
	command := func() *exec.Cmd {
		cmd := joinedCommand(ctx, path, cwd, spec, stdin)
		if slave != nil {
			cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
			cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, 0
		}
		return cmd
	}
	// lade keeps CAP_SYS_ADMIN, so this works without no_new_privs; the
	// thread is never reused and the command inherits the filter.
	if err := seccomp.Install(sec.Seccomp); err != nil {
		return nil, nil, fmt.Errorf("runner: exec: %w", err)
	}
	cmd, err := startInCgroup(command, cgFd)
	if err != nil {
		if master != nil {
			master.Close()
		}
		code := ExitNotExecutable
		if errors.Is(err, os.ErrNotExist) {
			code = ExitNotFound
		}
		return nil, nil, &execError{code: code, msg: fmt.Sprintf("exec %s: %v", spec.Args[0], err)}
	}
	return cmd, master, nil
}

// openCgroup opens cgroup directory dir for CLONE_INTO_CGROUP; "" gives
// -1, which closes as a no-op.
func openCgroup(dir string) (int, error) {
	if dir == "" {
		return -1, nil
	}
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("runner: exec: open cgroup %s: %w", dir, err)
	}
	return fd, nil
}

// startInCgroup starts a command cloned into the cgroup cgFd (-1: none).
// When that fails nothing ran: a fresh command starts without it (see
// ExecSpec.Cgroup), and a second failure is the command's own.
func startInCgroup(command func() *exec.Cmd, cgFd int) (*exec.Cmd, error) {
	cmd := command()
	if cgFd < 0 {
		return cmd, cmd.Start()
	}
	cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, cgFd
	if err := cmd.Start(); err == nil {
		return cmd, nil
	}
	cmd = command()
	return cmd, cmd.Start()
}

// openNamespaces opens the namespaces of pid in joinOrder; on failure it
// returns those it opened with the error.
func openNamespaces(pid int) ([]int, error) {
	fds := make([]int, 0, len(joinOrder))
	for _, ns := range joinOrder {
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/%s", pid, ns.name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fds, fmt.Errorf("runner: exec: open %s namespace of pid %d: %w", ns.name, pid, err)
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

// joinNamespaces runs spec.Prepare, closes inherited fds, moves this
// thread into the namespaces fds (from openNamespaces) and trims its
// bounding set.
func joinNamespaces(fds []int, spec *ExecSpec, sec security) error {
	// Host paths still resolve before the mount namespace changes.
	devDir, err := execDevicesV1(spec)
	if err != nil {
		return fmt.Errorf("runner: exec: %w", err)
	}
	if err := joinThread(devDir); err != nil {
		return fmt.Errorf("runner: exec: %w", err)
	}
	if spec.Prepare != nil {
		if err := spec.Prepare(unix.Gettid()); err != nil {
			return fmt.Errorf("runner: exec: %w", err)
		}
	}
	// Fds lade inherited without close-on-exec must not reach the command;
	// this reads /proc/self/fd, so before joining the mount namespace.
	if err := closeExtraFds(); err != nil {
		return fmt.Errorf("runner: exec: %w", err)
	}
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("runner: exec: unshare fs: %w", err)
	}
	for i, ns := range joinOrder {
		if err := unix.Setns(fds[i], ns.flag); err != nil {
			return fmt.Errorf("runner: exec: join %s namespace: %w", ns.name, err)
		}
	}
	if err := dropBounding(sec); err != nil {
		return fmt.Errorf("runner: exec: %w", err)
	}
	return nil
}

// joinedCommand is the command spec runs, as the spec's user in a session
// of its own.
func joinedCommand(ctx context.Context, path, cwd string, spec *ExecSpec, stdin *os.File) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path)
	cmd.Args = spec.Args
	cmd.Env = spec.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = cwd
	if stdin != nil {
		cmd.Stdin = stdin
	}
	cmd.Stdout, cmd.Stderr = outputPipe(spec.Stdout), outputPipe(spec.Stderr)
	// A process the command left behind may hold its output pipes open.
	cmd.WaitDelay = outputGrace
	groups := make([]uint32, len(spec.AdditionalGIDs))
	copy(groups, spec.AdditionalGIDs)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// No Pdeathsig: Go's child compares getppid() with the forker's
		// pid, and in the container's pid namespace the parent reads as 0.
		Credential: &syscall.Credential{Uid: spec.UID, Gid: spec.GID, Groups: groups, NoSetGroups: setgroupsDenied()},
		Setsid:     true,
	}
	return cmd
}
