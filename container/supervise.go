package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lade-build/lade/runner"
)

// MaskedPaths and ReadonlyPaths are docker's defaults for unprivileged
// containers.
var (
	MaskedPaths   = runner.DefaultMaskedPaths
	ReadonlyPaths = runner.DefaultReadonlyPaths
)

// IO is the supervisor's extra stdio: a foreground run's terminal. The
// output also always goes to the container log.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Terminal, for a -t container, is lade's terminal that the
	// container's follows in size.
	Terminal *Terminal
}

// Supervise runs container id until it stops for good, restarting it as
// its policy says, and returns the last exit status. err is set only when
// lade failed to start it. Warnings go to warn.
func (s *Store) Supervise(ctx context.Context, id string, stdio IO, warn io.Writer) (int, error) {
	unlock, err := s.lockSupervisor(id)
	if err != nil {
		return -1, err
	}
	c, err := s.load(id)
	if err != nil {
		unlock()
		return -1, fmt.Errorf("loading container %s: %w", id, err)
	}
	code, err := s.supervise(ctx, &c.Config, stdio, warn)
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
	for {
		code, err := s.runOnce(ctx, c, &pid, stdio, stdout, stderr, warn)
		if err != nil {
			s.recordFailure(c.ID, err)
			return -1, err
		}
		st, err := s.loadState(c.ID)
		if err != nil {
			return code, err
		}
		if !shouldRestart(c.Restart, st, code) || ctx.Err() != nil {
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
			return code, nil
		case <-time.After(delay):
		}
		if st, err := s.loadState(c.ID); err != nil || st.StoppedByUser {
			s.UpdateState(c.ID, func(st *State) { st.Status = StatusExited })
			return code, err
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
func (s *Store) runOnce(ctx context.Context, c *Config, pid *atomic.Int64, stdio IO, stdout, stderr, warn io.Writer) (int, error) {
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
	if spec.Seccomp, err = runner.ContainerSeccomp(c.Seccomp, c.Privileged); err != nil {
		return -1, err
	}
	if c.Network == "host" {
		spec.Network = runner.NetworkHost
	}
	if !c.Privileged {
		spec.MaskedPaths, spec.ReadonlyPaths = MaskedPaths, ReadonlyPaths
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

// shimMain supervises one container, detached from any terminal.
func shimMain(root, id string) int {
	// The shim lives in its own session; only stop/kill end containers.
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE)
	s, err := Open(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code, err := s.Supervise(context.Background(), id, IO{}, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}

// StartShim starts container id under a detached shim (self is the lade
// binary, "" for /proc/self/exe) and returns once the container runs, or
// has already exited.
func (s *Store) StartShim(ctx context.Context, id, self string) error {
	if s.supervised(id) {
		return fmt.Errorf("container %s is already running", id[:12])
	}
	before, err := s.loadState(id)
	if err != nil {
		return err
	}
	if err := s.UpdateState(id, func(st *State) { st.StoppedByUser = false; st.Error = "" }); err != nil {
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
	cmd := exec.Command(self, "container-shim", "--root", s.root, id)
	cmd.Args[0] = "lade"
	cmd.Env = []string{shimEnv + "=1", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting shim: %w", err)
	}
	exited := make(chan struct{})
	// Reap it if we outlive it; when the CLI exits first, init does.
	go func() { _ = cmd.Wait(); close(exited) }()
	for {
		st, err := s.loadState(id)
		if err != nil {
			return err
		}
		if st.StartedAt.After(before.StartedAt) || st.FinishedAt.After(before.FinishedAt) {
			if st.Error != "" && st.Pid == 0 {
				return errors.New(st.Error)
			}
			return nil
		}
		select {
		case <-exited:
			if st, err := s.loadState(id); err == nil && st.Error != "" {
				return errors.New(st.Error)
			}
			out, _ := os.ReadFile(shimLog)
			return fmt.Errorf("container shim exited: %s", strings.TrimSpace(string(out)))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
