package runner

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// proc is a started container init that has not yet read its config. The
// init takes its mount and network namespaces only once it has the config
// (see containerInit), so one started early still sees every mount made
// after it started: that is what lets a build keep a spare.
type proc struct {
	cmd       *exec.Cmd
	cfgW      *os.File // the init's config pipe (fd 3 there)
	statR     *os.File // its status pipe (fd 4 there)
	ttyParent int      // our end of the terminal socket, or -1
	out       *os.File // a spare's stdout and stderr, read end; else nil
	stopStdin func()   // ends the copy into the init's stdin pipe
	exited    chan error
	// dc is the step cgroup a spare was cloned into, with the default
	// device rules; the spare's taker removes it.
	dc *deviceCgroup
}

// launchInit starts an init with its caller's stdio (or, with tty, the
// socket its terminal's master comes back on), or with spare an init for
// a caller not known yet: /dev/null as stdin, and stdout and stderr one
// pipe of its own (p.out). A dc made for one step is where the init is
// cloned (CLONE_INTO_CGROUP): it never runs outside its device rules,
// and moving a process between cgroups costs more than that.
func (r *Runner) launchInit(tty, spare bool, clone uintptr, stdin io.Reader, stdout, stderr io.Writer, dc *deviceCgroup) (_ *proc, err error) {
	var ends childEnds // the init's ends of the pipes: closed here once it started
	defer func() { ends.close() }()
	p := &proc{ttyParent: -1, stopStdin: func() {}, exited: make(chan error, 1)}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	self := r.Self
	if self == "" {
		self = "/proc/self/exe"
	}
	cmd, err := p.initCommand(self, &ends)
	if err != nil {
		return nil, err
	}
	if err := p.wireStdio(cmd, &ends, tty, spare, stdin, stdout, stderr); err != nil {
		return nil, err
	}
	// The mount and network namespaces come later, from the init itself.
	// Without a terminal of its own the init leaves lade's session, so it
	// cannot reach lade's terminal through /dev/tty (a -t init makes its
	// own session for its terminal).
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: clone,
		Pdeathsig:  syscall.SIGKILL,
		Setsid:     !tty,
	}
	if dc.cloneInto() {
		cgFd, err := unix.Open(dc.dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("runner: open cgroup %s: %w", dc.dir, err)
		}
		defer unix.Close(cgFd)
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, cgFd
	}
	p.cmd = cmd
	if err := p.start(); err != nil {
		return nil, fmt.Errorf("runner: start init %s: %w", self, err)
	}
	return p, nil
}

// childEnds are the init's ends of its pipes and sockets.
type childEnds []*os.File

func (c *childEnds) add(f *os.File) { *c = append(*c, f) }

func (c childEnds) close() {
	for _, f := range c {
		f.Close()
	}
}

// initCommand makes the config and status pipes and the command that
// re-executes self as the init, with their ends as its fds 3 and 4.
func (p *proc) initCommand(self string, ends *childEnds) (*exec.Cmd, error) {
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("runner: config pipe: %w", err)
	}
	p.cfgW = cfgW
	ends.add(cfgR)
	statR, statW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("runner: status pipe: %w", err)
	}
	p.statR = statR
	ends.add(statW)
	cmd := exec.Command(self)
	cmd.Args = []string{initArg0}
	cmd.Env = []string{initEnv + "=1"}
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{cfgR, statW} // fds 3 and 4 in the init
	return cmd, nil
}

// wireStdio gives the init a spare's output pipe, the caller's stdio, or
// with tty the socket its terminal's master comes back on.
func (p *proc) wireStdio(cmd *exec.Cmd, ends *childEnds, tty, spare bool, stdin io.Reader, stdout, stderr io.Writer) error {
	switch {
	case spare:
		outR, outW, err := os.Pipe()
		if err != nil {
			return fmt.Errorf("runner: output pipe: %w", err)
		}
		p.out = outR
		ends.add(outW)
		cmd.Stdout, cmd.Stderr = outW, outW
	case !tty:
		in, stop, err := stdinPipe(stdin)
		if err != nil {
			return fmt.Errorf("runner: %w", err)
		}
		p.stopStdin = stop
		if in != nil {
			cmd.Stdin = in
			ends.add(in)
		}
		cmd.Stdout, cmd.Stderr = outputPipe(stdout), outputPipe(stderr)
	default:
		// With a terminal the init opens it in the container's devpts and
		// passes the master back over this socket (fd 5 in the init).
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("runner: terminal socket: %w", err)
		}
		p.ttyParent = pair[0]
		ttyChild := os.NewFile(uintptr(pair[1]), "tty-socket")
		ends.add(ttyChild)
		cmd.ExtraFiles = append(cmd.ExtraFiles, ttyChild)
	}
	return nil
}

// start starts p.cmd and reports its end on p.exited. Pdeathsig fires
// when the forking thread exits: that thread stays locked, out of Go's
// pool, until the init is gone.
func (p *proc) start() error {
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.exited <- p.cmd.Wait()
	}()
	return <-started
}

// kill ends the init and, with it, its whole pid namespace.
func (p *proc) kill() { _ = p.cmd.Process.Signal(syscall.SIGKILL) }

// close releases our ends of p's pipes.
func (p *proc) close() {
	p.stopStdin()
	for _, f := range []*os.File{p.cfgW, p.statR, p.out} {
		if f != nil {
			f.Close()
		}
	}
	if p.ttyParent >= 0 {
		unix.Close(p.ttyParent)
		p.ttyParent = -1
	}
}

// spareFits tells whether a spare, started with /dev/null as stdin and one
// pipe for stdout and stderr, can run spec as a fresh init would.
func spareFits(spec *Spec, cfg *initConfig) bool {
	return !cfg.Tty && spec.Stdin == nil && spec.Stdout == spec.Stderr && spec.cloneFlags() == defaultClone
}

// defaultClone are the namespaces an init is cloned into; the mount and
// network ones come later, from the init itself.
const defaultClone = unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC

// cloneFlags are the namespaces spec's init is cloned into: the default
// ones but those it shares with the host.
func (spec *Spec) cloneFlags() uintptr {
	flags := uintptr(defaultClone)
	if spec.HostPID {
		flags &^= unix.CLONE_NEWPID
	}
	if spec.HostIPC {
		flags &^= unix.CLONE_NEWIPC
	}
	if spec.HostUTS {
		flags &^= unix.CLONE_NEWUTS
	}
	return flags
}

// takeSpare hands out the spare init, if there is a live one and spec
// fits it.
func (r *Runner) takeSpare(spec *Spec, cfg *initConfig) *proc {
	if !spareFits(spec, cfg) {
		return nil
	}
	r.mu.Lock()
	p := r.spare
	// A spare in a step cgroup has the default device rules, nothing else.
	if p != nil && p.dc != nil && !defaultDevices(spec, cfg) {
		p = nil
	}
	if p != nil {
		r.spare = nil
	}
	r.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case err := <-p.exited: // killed from outside, say
		p.exited <- err
		p.close()
		_ = p.dc.remove()
		return nil
	default:
		return p
	}
}

// Warm starts a spare init in the background unless one is there or on its
// way, so the next RUN step finds the clone and the start of lade's runtime
// already paid for, overlapped with whatever runs now.
func (r *Runner) Warm() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.spare != nil || r.filling {
		return
	}
	r.filling = true
	r.fills.Add(1)
	go func() {
		defer r.fills.Done()
		// The next step's cgroup, made now, is off its critical path.
		var dc *deviceCgroup
		if stepDevicesOnV2() && deviceCgroups() {
			dc, _ = setupDeviceCgroup("", DefaultDeviceRules, "")
		}
		p, err := r.launchInit(false, true, defaultClone, nil, nil, nil, dc)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.filling = false
		if err != nil {
			_ = dc.remove()
			return // the next Run starts its own init and says why
		}
		p.dc = dc
		if r.closed {
			p.discard()
			return
		}
		r.spare = p
	}()
}

// discard kills an unused spare and reaps it.
func (p *proc) discard() {
	p.kill()
	<-p.exited
	p.close()
	_ = p.dc.remove()
}

// Close discards the spare init and one Launch started. The Runner starts no more spares, but
// Run still works.
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	p, l := r.spare, r.launched
	r.spare, r.launched = nil, nil
	r.mu.Unlock()
	if p != nil {
		p.discard()
	}
	if l != nil {
		l.p.discard()
	}
	r.fills.Wait()
	return nil
}
