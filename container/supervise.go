package container

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lade-build/lade/runner"
	"github.com/lade-build/lade/runner/seccomp"
)

// IO is the supervisor's extra stdio: a foreground run's terminal. The
// output also always goes to the container log.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Terminal, for a -t container, is lade's terminal that the
	// container's follows in size.
	Terminal *Terminal
	// SigProxy passes the signals lade receives on to the container's
	// process (ProxySignals); ctx should then not end on them.
	SigProxy bool
	// Ready, when set, is called once: with nil when the container's
	// process runs (or already ran), or with the error that kept it from
	// starting.
	Ready func(error)
}

// Supervise runs container id until it stops for good, restarting it as
// its policy says, and returns the last exit status. err is set only when
// lade failed to start it. Warnings go to warn.
func (s *Store) Supervise(ctx context.Context, id string, stdio IO, warn io.Writer) (int, error) {
	ready := stdio.Ready
	var once sync.Once
	stdio.Ready = func(err error) {
		if ready != nil {
			once.Do(func() { ready(err) })
		}
	}
	unlock, err := s.lockSupervisor(id)
	if errors.Is(err, os.ErrNotExist) {
		err = fmt.Errorf("container %s was removed before it started", id[:12])
	}
	if err != nil {
		stdio.Ready(err)
		return -1, err
	}
	c, err := s.load(id)
	if err != nil {
		unlock()
		err = fmt.Errorf("loading container %s: %w", id, err)
		stdio.Ready(err)
		return -1, err
	}
	code, err := s.supervise(ctx, &c.Config, stdio, warn)
	// Reported before --rm removes it, so a failed start's error reaches
	// the caller of StartShim.
	stdio.Ready(err)
	if uerr := s.UnmountRootfs(id); uerr != nil && err == nil {
		err = uerr
	}
	unlock()
	if c.AutoRemove {
		if rerr := s.remove(id, true); rerr != nil && err == nil {
			err = rerr
		}
	}
	return code, err
}

func (s *Store) supervise(ctx context.Context, c *Config, stdio IO, warn io.Writer) (int, error) {
	logf, err := openLog(s.LogPath(c.ID))
	if err != nil {
		return -1, err
	}
	defer logf.Close()
	outLog := &streamWriter{log: logf, stream: "stdout"}
	errLog := &streamWriter{log: logf, stream: "stderr"}
	defer outLog.Flush()
	defer errLog.Flush()
	var stdout, stderr io.Writer = outLog, errLog
	if stdio.Stdout != nil {
		stdout = io.MultiWriter(stdio.Stdout, outLog)
	}
	if stdio.Stderr != nil {
		stderr = io.MultiWriter(stdio.Stderr, errLog)
	}

	var pid atomic.Int64
	var proxy *SignalProxy
	if stdio.SigProxy {
		proxy = ProxySignals()
		defer proxy.Stop()
	}
	if len(c.Ports) > 0 {
		if c.Network == "host" {
			fmt.Fprintln(warn, "WARNING: published ports are discarded when using host network mode")
		} else {
			stop, bound, err := startProxies(c.Ports, func() int { return int(pid.Load()) }, warn)
			if err != nil {
				s.recordFailure(c.ID, err)
				return -1, err
			}
			defer stop()
			if err := s.UpdateState(c.ID, func(st *State) { st.Ports = bound }); err != nil {
				return -1, err
			}
			// Down for good: no port is published any more.
			defer s.UpdateState(c.ID, func(st *State) { st.Ports = nil })
		}
	}
	code := -1
	for first := true; ; first = false {
		// A stop, kill or rm -f may come before the process runs: then
		// it must not run at all.
		st, err := s.loadState(c.ID)
		if err != nil {
			return code, err
		}
		if st.StoppedByUser {
			if first {
				err := fmt.Errorf("container %s was stopped before it started", c.ID[:12])
				s.recordFailure(c.ID, err)
				return -1, err
			}
			return code, s.UpdateState(c.ID, func(st *State) { st.Status = StatusExited })
		}
		code, err = s.runOnce(ctx, c, &pid, proxy, stdio, stdout, stderr, warn)
		if err != nil {
			s.recordFailure(c.ID, err)
			return -1, err
		}
		if st, err = s.loadState(c.ID); err != nil {
			return code, err
		}
		// Ended by a signal to lade: the end a foreground run asked for.
		if !shouldRestart(c.Restart, st, code) || ctx.Err() != nil || proxy.Ending() {
			return code, nil
		}
		delay := 100 * time.Millisecond << min(st.RestartCount, 6)
		if err := s.UpdateState(c.ID, func(st *State) {
			st.Status = StatusRestarting
			st.RestartCount++
		}); err != nil {
			return code, err
		}
		select {
		case <-ctx.Done():
			return code, s.UpdateState(c.ID, func(st *State) { st.Status = StatusExited })
		case <-time.After(delay):
		}
		if proxy.Ending() {
			return code, s.UpdateState(c.ID, func(st *State) { st.Status = StatusExited })
		}
	}
}

// shouldRestart applies docker's restart policies.
func shouldRestart(p RestartPolicy, st *State, code int) bool {
	if st.StoppedByUser {
		return false
	}
	switch p.Name {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return code != 0 && (p.MaxRetries == 0 || st.RestartCount < p.MaxRetries)
	}
	return false
}

func (s *Store) loadState(id string) (*State, error) {
	var st State
	if err := readJSON(filepath.Join(s.Dir(id), "state.json"), &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func (s *Store) recordFailure(id string, err error) {
	_ = s.UpdateState(id, func(st *State) {
		st.Status, st.Pid, st.ExitCode, st.Error = StatusExited, 0, 125, err.Error()
		st.FinishedAt = time.Now().UTC()
	})
}

// runOnce starts the container's process and waits for it.
func (s *Store) runOnce(ctx context.Context, c *Config, pid *atomic.Int64, proxy *SignalProxy, stdio IO, stdout, stderr, warn io.Writer) (int, error) {
	if err := s.MountRootfs(c); err != nil {
		return -1, err
	}
	etc, err := s.WriteEtc(c)
	if err != nil {
		return -1, err
	}
	spec := &runner.Spec{
		Rootfs: s.Rootfs(c.ID), Args: c.Args, Env: c.Env, Cwd: c.Cwd,
		UID: c.UID, GID: c.GID, AdditionalGIDs: c.AdditionalGIDs,
		Hostname: c.Hostname, Network: runner.NetworkPrivate,
		Stdin: stdio.Stdin, Stdout: stdout, Stderr: stderr,
		Tty: c.Tty, Init: c.Init, CgroupNS: true,
		ReadonlyRootfs: c.ReadOnly, NoNewPrivileges: c.NoNewPrivileges,
		Capabilities: c.Capabilities,
		// Named after the container so exec finds and joins it.
		AllDevices: c.Privileged, Devices: c.Devices, DeviceCgroup: "lade/" + c.ID,
	}
	if spec.Seccomp, err = seccomp.ForContainer(c.Seccomp, c.Privileged); err != nil {
		return -1, err
	}
	if c.Network == "host" {
		spec.Network = runner.NetworkHost
	}
	if !c.Privileged {
		spec.MaskedPaths, spec.ReadonlyPaths = runner.DefaultMaskedPaths, runner.DefaultReadonlyPaths
	}
	for _, m := range append(etc, c.Mounts...) {
		rm := runner.Mount{Type: "bind", Source: m.Source, Target: m.Target}
		if m.Type == "tmpfs" {
			rm = runner.Mount{Type: "tmpfs", Target: m.Target, Options: m.Options}
		}
		if m.ReadOnly {
			rm.Options = append(rm.Options, "ro")
		}
		spec.Mounts = append(spec.Mounts, rm)
	}
	cg, err := setupCgroup(c.ID, c.Resources, warn)
	if err != nil {
		return -1, err
	}
	defer cg.remove()
	healthDone := make(chan struct{})
	healthStarted := false
	runCtx, cancelHealth := context.WithCancel(ctx)
	if c.Tty && stdio.Terminal != nil {
		spec.TtySize, spec.Console = stdio.Terminal.Size(), stdio.Terminal.Follow
	}
	// The init joins the cgroups before it unshares its cgroup namespace.
	spec.Cgroups = cg.paths()
	// Recorded once the command runs: exec must not join an init that is
	// still setting up (or is still lade's code).
	spec.Running = func(p int) error {
		pid.Store(int64(p))
		proxy.SetPid(p)
		err := s.UpdateState(c.ID, func(st *State) {
			st.Status, st.Pid, st.ExitCode, st.Error, st.OOMKilled = StatusRunning, p, 0, "", false
			st.StartedAt, st.FinishedAt = time.Now().UTC(), time.Time{}
			if c.Healthcheck != nil {
				st.Health = &Health{Status: "starting"}
			}
		})
		if err != nil {
			return err
		}
		stdio.Ready(nil)
		healthStarted = true
		go func() {
			defer close(healthDone)
			s.runHealthcheck(runCtx, c, p)
		}()
		return nil
	}
	code, err := runner.New().Run(ctx, spec)
	cancelHealth()
	if healthStarted {
		<-healthDone
	}
	pid.Store(0)
	proxy.SetPid(0)
	oom := cg.oomKills() > 0
	st := func(st *State) {
		st.Status, st.Pid, st.ExitCode, st.OOMKilled = StatusExited, 0, code, oom
		st.FinishedAt = time.Now().UTC()
		if err != nil {
			st.ExitCode, st.Error = 125, err.Error()
		}
	}
	if uerr := s.UpdateState(c.ID, st); uerr != nil && err == nil {
		err = uerr
	}
	return code, err
}

// shimEnv marks a process started by StartShim.
const shimEnv = "_LADE_CONTAINER_SHIM"

// Reexec must run first thing in main (after runner.Reexec) and in the
// TestMain of packages that start detached containers. In a shim started
// by StartShim it supervises the container and exits; anywhere else it
// returns false.
func Reexec() bool {
	if os.Getenv(shimEnv) != "1" || len(os.Args) != 5 || os.Args[1] != "container-shim" || os.Args[2] != "--root" {
		return false
	}
	os.Exit(shimMain(os.Args[3], os.Args[4]))
	return true
}

// shimReadyFd is the pipe on which a shim reports the container's start
// to StartShim: "ok" or "error: MESSAGE", one line.
const shimReadyFd = 3

// shimMain supervises one container, detached from any terminal.
func shimMain(root, id string) int {
	// The shim lives in its own session; only stop/kill end containers.
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE)
	syscall.CloseOnExec(shimReadyFd) // the container must not inherit it
	readyPipe := os.NewFile(shimReadyFd, "ready")
	ready := func(err error) {
		msg := "ok\n"
		if err != nil {
			msg = "error: " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n"
		}
		_, _ = readyPipe.WriteString(msg)
		readyPipe.Close()
	}
	s, err := Open(root)
	if err != nil {
		ready(err)
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code, err := s.Supervise(context.Background(), id, IO{Ready: ready}, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}

// ClearStop undoes a manual stop's mark, as an explicit start does: the
// restart policy applies again and the supervisor may run the process.
func (s *Store) ClearStop(id string) error {
	err := s.UpdateState(id, func(st *State) { st.StoppedByUser = false; st.Error = "" })
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("container %s was removed before it started", id[:12])
	}
	return err
}

// StartShim starts container id under a detached shim (self is the lade
// binary, "" for /proc/self/exe) and returns once the container runs, or
// has already exited, or with the error that kept it from starting.
func (s *Store) StartShim(ctx context.Context, id, self string) error {
	if s.supervised(id) {
		return s.busy(id)
	}
	if err := s.ClearStop(id); err != nil {
		return err
	}
	if self == "" {
		self = "/proc/self/exe"
	}
	shimLog := filepath.Join(s.Dir(id), "shim.log")
	lf, err := os.OpenFile(shimLog, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("starting shim: %w", err)
	}
	defer lf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("starting shim: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(self, "container-shim", "--root", s.root, id)
	cmd.Args[0] = "lade"
	cmd.Env = []string{shimEnv + "=1", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.ExtraFiles = []*os.File{w} // shimReadyFd
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("starting shim: %w", err)
	}
	exited := make(chan struct{})
	// Reap it if we outlive it; when the CLI exits first, init does.
	go func() { _ = cmd.Wait(); close(exited) }()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case l := <-line:
		if l == "ok" {
			return nil
		}
		if msg, ok := strings.CutPrefix(l, "error: "); ok {
			return errors.New(msg)
		}
		// No report: the shim died before it knew.
		<-exited
		out, _ := os.ReadFile(shimLog)
		why := strings.TrimSpace(string(out))
		if why == "" {
			why = cmd.ProcessState.String()
		}
		return fmt.Errorf("container shim of %s exited before the container started: %s", id[:12], why)
	case <-ctx.Done():
		return ctx.Err()
	}
}
