package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"
)

// stdinFifo is where a shim of an -i container takes its stdin from:
// attach writes into it. The shim holds it open for reading and writing,
// so the container's stdin stays open between attaches, as in docker.
const stdinFifo = "stdin.fifo"

// openStdinFifo makes and opens container id's stdin FIFO for its shim.
// With once (docker's StdinOnce) the shim holds no writing end: the
// container's stdin ends when the first attach's does.
func (s *Store) openStdinFifo(id string, once bool) (io.ReadCloser, error) {
	p := filepath.Join(s.Dir(id), stdinFifo)
	if err := unix.Mkfifo(p, 0o600); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("creating the stdin FIFO: %w", err)
	}
	if !once {
		return os.OpenFile(p, os.O_RDWR, 0)
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the stdin FIFO: %w", err)
	}
	return &onceFifo{fd: fd, f: os.NewFile(uintptr(fd), p)}, nil
}

// onceFifo reads a FIFO from its first writer's open to that writer's
// close. Before any writer a FIFO reads as ended; poll (Linux) reports
// neither data nor hang-up until a writer opened it since.
type onceFifo struct {
	fd     int
	f      *os.File
	waited sync.Once
}

func (o *onceFifo) Read(p []byte) (int, error) {
	o.waited.Do(func() {
		fds := []unix.PollFd{{Fd: int32(o.fd), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != unix.EINTR {
				return
			}
		}
	})
	return o.f.Read(p)
}

func (o *onceFifo) Close() error { return o.f.Close() }

// AttachOptions say what attach connects: Stdin (nil: none) goes to an -i
// container's stdin until DetachKeys are typed; its output goes to Stdout
// and Stderr. With SigProxy the signals lade receives go to the process.
type AttachOptions struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	DetachKeys     []byte // nil: none
	SigProxy       bool
	// Pending attaches to a created container too, as docker run and
	// start -a attach before they start it: its output from the call on,
	// its stdin once it runs.
	Pending bool
}

// ErrDetached is returned by Attach when the detach keys were typed.
var ErrDetached = errors.New("read escape sequence")

// Attach connects to running container ref as docker attach does: its
// output from now on (from the log its shim writes), lade's stdin to its
// stdin. It returns the container's exit status once it stops, or
// ErrDetached.
func (s *Store) Attach(ctx context.Context, ref string, o AttachOptions) (int, error) {
	since := time.Now().UTC()
	c, err := s.Get(ref)
	if err != nil {
		return -1, err
	}
	pending := o.Pending && c.State.Status == StatusCreated
	if !pending && (c.State.Status != StatusRunning && c.State.Status != StatusRestarting || !s.supervised(c.ID)) {
		return -1, errors.New("you cannot attach to a stopped container, start it first")
	}
	if c.State.Paused {
		return -1, errors.New("you cannot attach to a paused container, unpause it first")
	}
	s.event(events.ActionAttach, &c.Config, nil)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Output from now on, the first of it written while stdin is
	// being connected included.
	logs := LogOptions{Follow: true, Tail: -1, Since: since}
	if pending {
		logs.ended = func() bool { return s.endedOrUnstarted(c.ID) == ended }
	}
	if o.Stdin != nil && c.OpenStdin {
		fifo, err := s.openStdin(ctx, c.ID, pending)
		if err != nil {
			return -1, fmt.Errorf("attaching stdin: %w", err)
		}
		go func() {
			defer fifo.Close()
			if copyUntilKeys(fifo, o.Stdin, o.DetachKeys) {
				cancel(ErrDetached)
			}
		}()
	}
	if o.SigProxy && !c.Tty && !pending {
		proxy := ProxySignals()
		defer proxy.Stop()
		proxy.SetPid(c.State.Pid)
	}
	if err := s.ReadLogs(ctx, c.ID, logs, o.Stdout, o.Stderr); err != nil {
		return -1, err
	}
	if errors.Is(context.Cause(ctx), ErrDetached) {
		s.event(events.ActionDetach, &c.Config, nil)
		return -1, ErrDetached
	}
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	return s.Wait(ctx, c.ID)
}

// Where a container attached to before it started is.
const (
	unstarted = iota
	running
	ended // exited, or removed by --rm
)

func (s *Store) endedOrUnstarted(id string) int {
	if s.supervised(id) {
		return running
	}
	st, err := s.loadState(id)
	if err == nil && st.Status == StatusCreated {
		return unstarted
	}
	return ended
}

// openStdin opens container id's stdin FIFO for writing. When pending, a
// FIFO without its shim yet is waited for until the container runs; the
// returned writer then takes what is written before it opens, so a
// client's stdin is read as it comes.
func (s *Store) openStdin(ctx context.Context, id string, pending bool) (io.WriteCloser, error) {
	p := filepath.Join(s.Dir(id), stdinFifo)
	if !pending {
		return os.OpenFile(p, os.O_WRONLY, 0)
	}
	pr, pw := io.Pipe()
	go func() {
		fifo, err := s.waitStdin(ctx, id, p)
		if err != nil {
			pr.CloseWithError(err)
			return
		}
		defer fifo.Close()
		_, err = io.Copy(fifo, pr)
		pr.CloseWithError(err)
	}()
	return pw, nil
}

// waitStdin opens FIFO p once container id's shim holds it: after the
// container starts, and polled while it runs until ctx ends.
func (s *Store) waitStdin(ctx context.Context, id, p string) (*os.File, error) {
	for ctx.Err() == nil {
		switch s.endedOrUnstarted(id) {
		case running:
			// O_NONBLOCK: a FIFO its shim does not hold yet fails
			// rather than blocks.
			if fifo, err := os.OpenFile(p, os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
				return fifo, nil
			}
		case ended:
			return nil, errors.New("the container stopped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, ctx.Err()
}

// copyUntilKeys copies r to w until r ends (false) or the detach key
// sequence keys is read (true); keys not completed go through.
func copyUntilKeys(w io.Writer, r io.Reader, keys []byte) bool {
	buf := make([]byte, 4096)
	matched := 0
	for {
		n, err := r.Read(buf)
		var out bytes.Buffer
		for _, b := range buf[:n] {
			if matched > 0 && b != keys[matched] {
				out.Write(keys[:matched]) // not the sequence after all
				matched = 0
			}
			if len(keys) > 0 && b == keys[matched] {
				matched++
				if matched == len(keys) {
					_, _ = w.Write(out.Bytes())
					return true
				}
				continue
			}
			out.WriteByte(b)
		}
		if _, werr := w.Write(out.Bytes()); werr != nil {
			return false
		}
		if err != nil {
			return false
		}
	}
}

// Resize sets the terminal size of running container ref to h rows and
// w columns, as docker's resize: through its process's terminal (the
// pty's far end, which its shim holds), so the process gets SIGWINCH.
// A container without a terminal, or not running, is left alone.
func (s *Store) Resize(ref string, h, w uint16) error {
	c, err := s.Get(ref)
	if err != nil {
		return err
	}
	if !c.Tty || c.State.Pid == 0 || !s.supervised(c.ID) || h == 0 || w == 0 {
		return nil
	}
	return ResizeTerminal(c.State.Pid, h, w)
}

// ResizeTerminal sets the size of the terminal process pid reads from
// (an exec's, whose pid ExecOptions.Pid reports).
func ResizeTerminal(pid int, h, w uint16) error {
	f, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/0", pid), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("resizing the terminal: %w", err)
	}
	defer f.Close()
	return unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: h, Col: w})
}
