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
	// Detached is set by a shim: an -i container then reads its stdin
	// from a FIFO that attach writes into.
	Detached bool
	// Ready, when set, is called once: with nil when the container's
	// process runs (or already ran), or with the error that kept it from
	// starting.
	Ready func(error)
	// Prestart, when set, is the container's init Prestart launched, for
	// its first run; Supervise discards it when that does not use it.
	Prestart *Prestart
}

// Supervise runs container id until it stops for good, restarting it as
// its policy says, and returns the last exit status. err is set only when
// lade failed to start it. Warnings go to warn.
func (s *Store) Supervise(ctx context.Context, id string, stdio IO, warn io.Writer) (int, error) {
	defer stdio.Prestart.Close()
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

// supervision is one supervisor's hold on a container: what each run of
// its process shares.
type supervision struct {
	c     *Config
	stdio IO
	warn  io.Writer
	// stdout and stderr go to the log, and to stdio's when set.
	stdout, stderr io.Writer
	pid            atomic.Int64 // the running process, 0 between runs
	ports          []Port       // the published ports, as bound
	proxy          *SignalProxy // nil without stdio.SigProxy
	pre            *Prestart    // for the first run; nil after
}

func (s *Store) supervise(ctx context.Context, c *Config, stdio IO, warn io.Writer) (int, error) {
	r := &supervision{c: c, stdio: stdio, warn: warn, pre: stdio.Prestart}
	closeLog, err := s.openOutput(r)
	if err != nil {
		return -1, err
	}
	defer closeLog()
	if stdio.Detached && c.OpenStdin {
		fifo, err := s.openStdinFifo(c.ID, c.StdinOnce)
		if err != nil {
			return -1, err
		}
		defer fifo.Close()
		r.stdio.Stdin = fifo
	}
	if stdio.SigProxy {
		r.proxy = ProxySignals()
		defer r.proxy.Stop()
	}
	unpublish, err := s.publishPorts(r)
	if err != nil {
		return -1, err
	}
	defer unpublish()
	return s.runUntilDone(ctx, r)
}

// openOutput points r's stdout and stderr at the container log (and at
// stdio's writers when set); the returned func flushes and closes it.
func (s *Store) openOutput(r *supervision) (func(), error) {
	if r.c.LogDriver == "none" {
		r.stdout, r.stderr = orDiscard(r.stdio.Stdout), orDiscard(r.stdio.Stderr)
		return func() {}, nil
	}
	logf, err := openLog(s.LogPath(r.c.ID))
	if err != nil {
		return nil, err
	}
	outLog := &streamWriter{log: logf, stream: "stdout", eager: r.c.Tty}
	errLog := &streamWriter{log: logf, stream: "stderr"}
	r.stdout, r.stderr = outLog, errLog
	if r.stdio.Stdout != nil {
		r.stdout = io.MultiWriter(r.stdio.Stdout, outLog)
	}
	if r.stdio.Stderr != nil {
		r.stderr = io.MultiWriter(r.stdio.Stderr, errLog)
	}
	return func() {
		errLog.Flush()
		outLog.Flush()
		logf.Close()
	}, nil
}

// orDiscard is w, or io.Discard for none.
func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// publishPorts starts the proxies of the container's published ports for
// the whole supervision, across restarts, and records the bound ports;
// the returned func withdraws them.
func (s *Store) publishPorts(r *supervision) (func(), error) {
	c := r.c
	if len(c.Ports) == 0 {
		return func() {}, nil
	}
	if c.Network == "host" {
		fmt.Fprintln(r.warn, "WARNING: published ports are discarded when using host network mode")
		return func() {}, nil
	}
	stop, bound, err := startProxies(c.Ports, func() int { return int(r.pid.Load()) }, r.warn)
	if err != nil {
		s.recordFailure(c.ID, err)
		return nil, err
	}
	r.ports = bound
	if err := s.UpdateState(c.ID, func(st *State) { st.Ports = bound }); err != nil {
		stop()
		return nil, err
	}
	return func() {
		// Down for good: no port is published any more.
		_ = s.UpdateState(c.ID, func(st *State) { st.Ports = nil })
		stop()
	}, nil
}

// runUntilDone runs the container's process, again and again as its
// restart policy says, and returns the last exit status.
func (s *Store) runUntilDone(ctx context.Context, r *supervision) (int, error) {
	code := -1
	for first := true; ; first = false {
		// A stop, kill or rm -f may come before the process runs: then
		// it must not run at all.
		st, err := s.loadState(r.c.ID)
		if err != nil {
			return code, err
		}
		if st.StoppedByUser {
			return code, s.stoppedByUser(r.c.ID, first)
		}
		code, err = s.runOnce(ctx, r)
		if err != nil {
			s.recordFailure(r.c.ID, err)
			return -1, err
		}
		again, err := s.awaitRestart(ctx, r, code)
		if err != nil || !again {
			return code, err
		}
	}
}

// stoppedByUser ends a supervision a stop asked for: a failure when the
// process has not run yet.
func (s *Store) stoppedByUser(id string, first bool) error {
	if first {
		err := fmt.Errorf("container %s was stopped before it started", id[:12])
		s.recordFailure(id, err)
		return err
	}
	return s.UpdateState(id, func(st *State) { st.Status = StatusExited })
}

// awaitRestart decides, after the process exited with code, whether it
// runs again, and waits out the restart back-off.
func (s *Store) awaitRestart(ctx context.Context, r *supervision, code int) (bool, error) {
	st, err := s.loadState(r.c.ID)
	if err != nil {
		return false, err
	}
	// update may have changed the policy and limits since the start.
	var now Config
	if readJSON(filepath.Join(s.Dir(r.c.ID), "config.json"), &now) == nil {
		r.c.Restart, r.c.Resources = now.Restart, now.Resources
	}
	// Ended by a signal to lade: the end a foreground run asked for.
	if !shouldRestart(r.c.Restart, st, code) || ctx.Err() != nil || r.proxy.Ending() {
		return false, nil
	}
	delay := 100 * time.Millisecond << min(st.RestartCount, 6)
	if err := s.UpdateState(r.c.ID, func(st *State) {
		st.Status = StatusRestarting
		st.RestartCount++
	}); err != nil {
		return false, err
	}
	exited := func(st *State) { st.Status = StatusExited }
	select {
	case <-ctx.Done():
		return false, s.UpdateState(r.c.ID, exited)
	case <-time.After(delay):
	}
	if r.proxy.Ending() {
		return false, s.UpdateState(r.c.ID, exited)
	}
	return true, nil
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
		st.Status, st.Pid, st.ExitCode, st.Error, st.Network = StatusExited, 0, 125, err.Error(), nil
		st.FinishedAt = time.Now().UTC()
	})
}

// shimEnv marks a process started by StartShim.
const shimEnv = "_LADE_CONTAINER_SHIM"

// Reexec must run first thing in main (after runner.Reexec) and in the
// TestMain of packages that start detached containers. In a shim started
// by StartShim it supervises the container and exits; anywhere else it
// returns false.
func Reexec() bool {
	if os.Getenv(shimEnv) != "1" || len(os.Args) < 5 || os.Args[2] != "--root" {
		return false
	}
	switch {
	case len(os.Args) == 5 && os.Args[1] == "container-shim":
		os.Exit(shimMain(os.Args[3], os.Args[4]))
	case len(os.Args) == 6 && os.Args[1] == "container-exec":
		os.Exit(execMain(os.Args[3], os.Args[4], os.Args[5]))
	}
	return false
}

// shimReadyFd is the pipe on which a shim reports the container's start
// to StartShim: "ok" or "error: MESSAGE", one line.
const shimReadyFd = 3

// shimMain supervises one container, detached from any terminal.
func shimMain(root, id string) int {
	ready := detachedReporter()
	s, err := Open(root)
	if err != nil {
		ready(err)
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code, err := s.Supervise(context.Background(), id, IO{Ready: ready, Detached: true}, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}

// detachedReporter sets up a detached lade (shim or exec -d): it lives in
// its own session, where only stop and kill end what it runs; the
// returned func reports on shimReadyFd, once, that it started (nil) or
// the error that kept it from starting.
func detachedReporter() func(error) {
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE)
	syscall.CloseOnExec(shimReadyFd) // the container must not inherit it
	readyPipe := os.NewFile(shimReadyFd, "ready")
	var once sync.Once
	return func(err error) {
		once.Do(func() {
			msg := "ok\n"
			if err != nil {
				msg = "error: " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n"
			}
			_, _ = readyPipe.WriteString(msg)
			readyPipe.Close()
		})
	}
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
	if errors.Is(err, os.ErrNotExist) && !s.exists(id) {
		return fmt.Errorf("container %s was removed before it started", id[:12])
	}
	if err != nil {
		return fmt.Errorf("starting shim: %w", err)
	}
	defer lf.Close()
	cmd := exec.Command(self, "container-shim", "--root", s.root, id)
	return startReporting(ctx, cmd, lf, shimLog, "container shim of "+id[:12], "the container started", nil)
}

// startReporting starts cmd, a re-executed lade, in its own session with
// its output in lf (the file at logPath), and returns once it reports on
// its shimReadyFd that what it runs has started, or the error it reports
// or dies of; what names it, and started its start, in that error.
// onExit, when set, gets its status when it ends, if this process is
// still there to reap it.
func startReporting(ctx context.Context, cmd *exec.Cmd, lf *os.File, logPath, what, started string, onExit func(*os.ProcessState)) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("starting %s: %w", what, err)
	}
	defer r.Close()
	cmd.Args[0] = "lade"
	cmd.Env = []string{shimEnv + "=1", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.ExtraFiles = []*os.File{w} // shimReadyFd
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("starting %s: %w", what, err)
	}
	exited := make(chan struct{})
	// Reap it if we outlive it; when the CLI exits first, init does.
	go func() {
		_ = cmd.Wait()
		close(exited)
		if onExit != nil {
			onExit(cmd.ProcessState)
		}
	}()
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
		// No report: it died before it knew.
		<-exited
		out, _ := os.ReadFile(logPath)
		why := strings.TrimSpace(string(out))
		if why == "" {
			why = cmd.ProcessState.String()
		}
		return fmt.Errorf("%s exited before %s: %s", what, started, why)
	case <-ctx.Done():
		return ctx.Err()
	}
}
