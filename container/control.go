package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/fileop"
	"github.com/lade-build/lade/runner"
	"github.com/lade-build/lade/runner/seccomp"
)

// Running reports whether c has a live supervisor and a process.
func (s *Store) Running(id string) bool { return s.supervised(id) }

// ParseSignal reads a signal as runner.ParseSignal does; "" is SIGTERM.
func ParseSignal(sig string) (syscall.Signal, error) {
	if sig == "" {
		return syscall.SIGTERM, nil
	}
	return runner.ParseSignal(sig)
}

// Kill sends sig to the container's main process. As in docker, a kill
// with SIGKILL or the stop signal (any signal when the container has
// none) is a manual stop that the restart policy does not undo until
// the next start; for unless-stopped, so is any kill.
func (s *Store) Kill(id string, sig syscall.Signal) error {
	c, err := s.load(id)
	if err != nil {
		return err
	}
	if c.State.Status != StatusRunning && c.State.Status != StatusRestarting {
		return fmt.Errorf("container %s is not running", id[:12])
	}
	if endsContainer(&c.Config, sig) {
		if err := s.UpdateState(id, func(st *State) { st.StoppedByUser = true }); err != nil {
			return err
		}
	}
	st, err := s.loadState(id)
	if err != nil {
		return err
	}
	if st.Pid == 0 {
		if st.Status == StatusRestarting || st.Status == StatusCreated {
			return nil // between runs or starting: the flag is enough
		}
		return fmt.Errorf("container %s is not running", id[:12])
	}
	if err := signalPid(id, st.Pid, sig); err != nil {
		return err
	}
	s.event(events.ActionKill, &c.Config, map[string]string{"signal": strconv.Itoa(int(sig))})
	s.thaw(id) // a frozen process takes the signal once thawed, as in docker
	return nil
}

// endsContainer is docker's rule for a kill that cancels restarts.
func endsContainer(c *Config, sig syscall.Signal) bool {
	if sig == syscall.SIGKILL || c.StopSignal == "" || c.Restart.Name == "unless-stopped" {
		return true
	}
	stop, err := ParseSignal(c.StopSignal)
	return err == nil && stop == sig
}

func signalPid(id string, pid int, sig syscall.Signal) error {
	if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signalling container %s: %w", id[:12], err)
	}
	return nil
}

// Stop sends the stop signal, then SIGKILL after timeout, and waits until
// the supervisor is gone. It marks the container stopped by the user, so
// the restart policy leaves it down.
func (s *Store) Stop(ctx context.Context, c *Container, timeout time.Duration) error {
	if err := s.UpdateState(c.ID, func(st *State) { st.StoppedByUser = true }); err != nil {
		return err
	}
	if !s.supervised(c.ID) {
		return nil
	}
	sig, err := ParseSignal(c.StopSignal)
	if err != nil {
		return err
	}
	if s.signalUntilGone(ctx, c.ID, sig, timeout) {
		s.event(events.ActionStop, &c.Config, nil)
		return nil
	}
	if !s.signalUntilGone(ctx, c.ID, syscall.SIGKILL, time.Minute) {
		return fmt.Errorf("container %s did not stop", c.ID[:12])
	}
	s.event(events.ActionStop, &c.Config, nil)
	return nil
}

// signalUntilGone sends sig to each process the container runs (one that
// is still starting as soon as it runs) until nothing supervises id, for
// at most d.
func (s *Store) signalUntilGone(ctx context.Context, id string, sig syscall.Signal, d time.Duration) bool {
	deadline := time.Now().Add(d)
	signalled := 0
	for s.supervised(id) {
		if st, err := s.loadState(id); err == nil && st.Pid != 0 && st.Pid != signalled {
			_ = signalPid(id, st.Pid, sig)
			s.thaw(id)
			signalled = st.Pid
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// Wait blocks until container id stops for good and returns its exit code.
func (s *Store) Wait(ctx context.Context, id string) (int, error) {
	for {
		st, err := s.loadState(id)
		if err != nil {
			return -1, err
		}
		if !s.supervised(id) && st.Status != StatusCreated {
			// Re-read: the supervisor may have written its last state
			// between the two reads.
			if st, err = s.loadState(id); err != nil {
				return -1, err
			}
			return st.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Remove deletes container id; a running one only with force (killed
// first, even while it is still starting). volumes also removes its
// anonymous volumes.
func (s *Store) Remove(ctx context.Context, id string, force, volumes bool) error {
	if force {
		mark := filepath.Join(s.Dir(id), removingMark)
		if err := os.WriteFile(mark, nil, 0o600); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		defer os.Remove(mark)
	}
	for attempt := 0; ; attempt++ {
		// Holding the supervisor lock keeps a shim that is being started
		// from running the container while it is removed.
		unlock, err := s.lockSupervisor(id)
		if errors.Is(err, os.ErrNotExist) {
			return nil // a concurrent remove (--rm racing rm -f) won
		}
		if err == nil {
			defer unlock()
			return s.remove(id, volumes)
		}
		var busy supervisedError
		if !errors.As(err, &busy) {
			return err
		}
		if !force {
			return fmt.Errorf("cannot remove container %s: container is running: stop the container before removing or force remove", id[:12])
		}
		if attempt == 3 {
			return fmt.Errorf("cannot remove container %s: it keeps being started", id[:12])
		}
		_ = s.UpdateState(id, func(st *State) { st.StoppedByUser = true })
		if !s.signalUntilGone(ctx, id, syscall.SIGKILL, time.Minute) {
			return fmt.Errorf("cannot remove container %s: it did not stop", id[:12])
		}
	}
}

// remove deletes an unsupervised container's state, rootfs and cgroups.
func (s *Store) remove(id string, volumes bool) error {
	c, err := s.load(id)
	if errors.Is(err, os.ErrNotExist) {
		return nil // a concurrent remove (--rm racing rm -f) won
	}
	if err != nil {
		return err
	}
	if err := s.UnmountRootfs(id); err != nil {
		return err
	}
	if err := s.releaseNetwork(id); err != nil {
		return err
	}
	for _, d := range cgroupDirs(id) {
		_ = os.Remove(d)
	}
	// Rename first so a half-removed container never lists.
	trash := filepath.Join(s.dir, ".rm-"+id)
	if err := os.Rename(s.Dir(id), trash); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("removing container %s: %w", id[:12], err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("removing container %s: %w", id[:12], err)
	}
	s.event(events.ActionDestroy, &c.Config, nil)
	if volumes {
		for _, v := range c.AnonVolumes {
			if err := s.RemoveVolume(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// cgroupDirs are all places a cgroup of id may exist.
func cgroupDirs(id string) []string {
	var dirs []string
	if u := unifiedDir(); u != "" {
		dirs = append(dirs, filepath.Join(u, "lade", id))
	}
	for _, ctrl := range []string{"memory", "pids", "cpu", "devices", "freezer"} {
		dirs = append(dirs, filepath.Join(cgroupRoot, ctrl, "lade", id))
	}
	return dirs
}

// ExecOptions describe a process started in a running container.
type ExecOptions struct {
	Args           []string
	Env            []string // added to the container's
	Cwd            string   // "" = the container's
	User           string   // USER[:GROUP] as in run -u; "" = the container's user
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Tty gives the process a terminal of its own; Terminal, when set, is
	// lade's, which it follows in size.
	Tty      bool
	Terminal *Terminal
	// SigProxy passes the signals lade receives on to the process
	// (ProxySignals); ctx should then not end on them.
	SigProxy bool
	// Privileged gives the process every capability and no seccomp
	// filter, whatever the container's.
	Privileged bool
	// Started, when set, is called with nil once the process runs (exec
	// -d's report).
	Started func(error)
	// Pid, when set, is called with the process's pid once it runs (the
	// API's exec inspect and resize).
	Pid func(int)
	// Exited, when set, is called with a detached exec's exit status once
	// it ends, if the caller is still there (lade serve's exec inspect;
	// the CLI is gone by then).
	Exited func(int)
}

// Exec runs a process in running container c and returns its exit status.
func (s *Store) Exec(ctx context.Context, c *Container, o ExecOptions) (int, error) {
	st, err := s.loadState(c.ID)
	if err != nil {
		return -1, err
	}
	if !s.supervised(c.ID) || st.Pid == 0 {
		return -1, fmt.Errorf("container %s is not running", c.ID[:12])
	}
	env := append([]string(nil), c.Env...)
	for _, kv := range o.Env {
		env = SetEnv(env, kv)
	}
	if o.Tty {
		env = DefaultTerm(env)
	}
	spec := &runner.ExecSpec{
		Args: o.Args, Env: env, Cwd: c.Cwd, UID: c.UID, GID: c.GID, AdditionalGIDs: c.AdditionalGIDs,
		Capabilities: c.Capabilities, NoNewPrivileges: c.NoNewPrivileges,
		Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr,
		Tty: o.Tty,
	}
	placeExec(spec, &c.Config)
	if o.Privileged {
		spec.Capabilities = runner.AllCapabilities()
	}
	if o.Started != nil || o.Pid != nil {
		join := spec.Started
		spec.Started = func(pid int) error {
			err := join(pid)
			if err == nil && o.Started != nil {
				o.Started(nil)
			}
			if err == nil && o.Pid != nil {
				o.Pid(pid)
			}
			return err
		}
	}
	if o.Tty && o.Terminal != nil {
		spec.TtySize, spec.Console = o.Terminal.Size(), o.Terminal.Follow
	}
	var proxy *SignalProxy
	if o.SigProxy {
		proxy = ProxySignals()
		defer proxy.Stop()
		join := spec.Started
		spec.Started = func(p int) error {
			proxy.SetPid(p)
			return join(p)
		}
	}
	if spec.Seccomp, err = seccomp.ForContainer(c.Seccomp, c.Privileged || o.Privileged); err != nil {
		return -1, err
	}
	if o.Cwd != "" {
		spec.Cwd = o.Cwd
	}
	if o.User != "" {
		// Looked up in the container's files as they are now, as docker does.
		u, err := fileop.ContainerUser(s.Rootfs(c.ID), o.User, c.GroupAdd)
		if err != nil {
			return -1, err
		}
		spec.UID, spec.GID, spec.AdditionalGIDs = u.UID, u.GID, u.AdditionalGIDs
	}
	// docker's exec events: the command follows create's and start's name.
	cmdline := ": " + strings.Join(o.Args, " ")
	s.event(events.Action(string(events.ActionExecCreate)+cmdline), &c.Config, nil)
	s.event(events.Action(string(events.ActionExecStart)+cmdline), &c.Config, nil)
	code, err := runner.New().Exec(ctx, st.Pid, spec)
	proxy.SetPid(0) // reaped: the pid may be another process's soon
	if err == nil {
		s.event(events.ActionExecDie, &c.Config, map[string]string{"exitCode": strconv.Itoa(code)})
	}
	return code, err
}

// DefaultTerm gives env docker's TERM=xterm for a terminal, unless it
// sets TERM itself.
func DefaultTerm(env []string) []string {
	if slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "TERM=") }) {
		return env
	}
	return append(env, "TERM=xterm")
}

// SetEnv sets kv ("K=V") in env, replacing an existing K.
func SetEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek == k {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}
