package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"
)

// stdinFifo is where a shim of an -i container takes its stdin from:
// attach writes into it. The shim holds it open for reading and writing,
// so the container's stdin stays open between attaches, as in docker.
const stdinFifo = "stdin.fifo"

// openStdinFifo makes and opens container id's stdin FIFO for its shim.
func (s *Store) openStdinFifo(id string) (*os.File, error) {
	p := filepath.Join(s.Dir(id), stdinFifo)
	if err := unix.Mkfifo(p, 0o600); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("creating the stdin FIFO: %w", err)
	}
	return os.OpenFile(p, os.O_RDWR, 0)
}

// AttachOptions say what attach connects: Stdin (nil: none) goes to an -i
// container's stdin until DetachKeys are typed; its output goes to Stdout
// and Stderr. With SigProxy the signals lade receives go to the process.
type AttachOptions struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	DetachKeys     []byte // nil: none
	SigProxy       bool
}

// ErrDetached is returned by Attach when the detach keys were typed.
var ErrDetached = errors.New("read escape sequence")

// Attach connects to running container ref as docker attach does: its
// output from now on (from the log its shim writes), lade's stdin to its
// stdin. It returns the container's exit status once it stops, or
// ErrDetached.
func (s *Store) Attach(ctx context.Context, ref string, o AttachOptions) (int, error) {
	c, err := s.Get(ref)
	if err != nil {
		return -1, err
	}
	if c.State.Status != StatusRunning && c.State.Status != StatusRestarting || !s.supervised(c.ID) {
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
	logs := LogOptions{Follow: true, Tail: -1, Since: time.Now().UTC()}
	if o.Stdin != nil && c.OpenStdin {
		fifo, err := os.OpenFile(filepath.Join(s.Dir(c.ID), stdinFifo), os.O_WRONLY, 0)
		if err != nil {
			return -1, fmt.Errorf("attaching stdin: %w", err)
		}
		defer fifo.Close()
		go func() {
			if copyUntilKeys(fifo, o.Stdin, o.DetachKeys) {
				cancel(ErrDetached)
			}
		}()
	}
	if o.SigProxy && !c.Tty {
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
