package progress

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Printer reports steps like buildx does, in the display its mode chose
// (see New). It is safe for concurrent steps. A nil *Printer discards
// everything.
type Printer struct {
	mu     sync.Mutex
	d      display
	n      int
	log    []Event
	closed bool
}

// display renders status changes; every method is called with Printer.mu held.
type display interface {
	start(s *Step)
	output(s *Step, line []byte)
	status(s *Step, st *Status)
	done(s *Step, ev Event)
	printf(text string)
	close()
}

// Event records one finished step, for tests and for --progress=rawjson.
type Event struct {
	ID       int
	Name     string
	Cached   bool
	Executed bool // a process ran or files were copied
	Err      string
	Duration time.Duration
}

// Modes, as buildx's --progress takes them.
const (
	ModeAuto    = "auto"
	ModeTTY     = "tty"
	ModePlain   = "plain"
	ModeRawJSON = "rawjson"
	ModeQuiet   = "quiet"
)

// NewPlain writes plain progress to w (nil discards).
func NewPlain(w io.Writer) *Printer {
	if w == nil {
		w = io.Discard
	}
	return &Printer{d: &plainDisplay{w: w}}
}

// New writes progress to w in mode: auto (tty when w is a terminal, else
// plain), tty, plain, rawjson or quiet. Close it when the build is over so
// a live view can print its final state.
func New(w io.Writer, mode string) (*Printer, error) {
	if w == nil {
		w = io.Discard
	}
	switch mode {
	case "", ModeAuto:
		if isTerminal(w) {
			return newTTY(w), nil
		}
		return NewPlain(w), nil
	case ModeTTY:
		return newTTY(w), nil
	case ModePlain:
		return NewPlain(w), nil
	case ModeRawJSON:
		return &Printer{d: &jsonDisplay{w: w}}, nil
	case ModeQuiet:
		return NewPlain(io.Discard), nil
	}
	return nil, fmt.Errorf("invalid progress mode %q: use auto, tty, plain, rawjson or quiet", mode)
}

func newTTY(w io.Writer) *Printer {
	d := newTTYDisplay(w)
	p := &Printer{d: d}
	d.attach(&p.mu)
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Close flushes the display; later events are dropped.
func (p *Printer) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		p.d.close()
	}
}

// Step is one vertex in the progress output.
type Step struct {
	p     *Printer
	id    int
	name  string
	start time.Time
	buf   []byte
	tail  [][]byte // last lines, for the tty view
	done  bool
	// statuses are the step's running statuses, for the tty view.
	statuses []*Status
}

// Start announces a step.
func (p *Printer) Start(name string) *Step {
	if p == nil {
		return &Step{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	s := &Step{p: p, id: p.n, name: name, start: time.Now()}
	if !p.closed {
		p.d.start(s)
	}
	return s
}

// Events returns the finished steps so far.
func (p *Printer) Events() []Event {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.log...)
}

// Printf writes a free-standing line (warnings, summaries).
func (p *Printer) Printf(format string, args ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.d.printf(fmt.Sprintf(format, args...))
	}
}

// Writer passes each write on as free-standing text, as Printf("%s")
// does: for the line-per-blob logs of pushes that run under a build.
func (p *Printer) Writer() io.Writer { return textWriter{p} }

type textWriter struct{ p *Printer }

func (w textWriter) Write(b []byte) (int, error) {
	w.p.Printf("%s", b)
	return len(b), nil
}

// ID is the step's number, the N of plain mode's "#N" lines (0 for a
// step of a nil Printer).
func (s *Step) ID() int { return s.id }

// Write receives the step's process output and passes it on line by line.
func (s *Step) Write(b []byte) (int, error) {
	if s.p == nil {
		return len(b), nil
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.buf = append(s.buf, b...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			break
		}
		s.line(s.buf[:i])
		s.buf = s.buf[i+1:]
	}
	return len(b), nil
}

// line hands one complete output line to the display (mu held).
func (s *Step) line(l []byte) {
	if s.p.closed {
		return
	}
	const keep = 6
	s.tail = append(s.tail, append([]byte(nil), l...))
	if len(s.tail) > keep {
		s.tail = s.tail[len(s.tail)-keep:]
	}
	s.p.d.output(s, l)
}

// Done closes the step: DONE, CACHED or ERROR.
func (s *Step) Done(executed bool, err error) {
	if s.p == nil || s.done {
		return
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.done = true
	if len(s.buf) > 0 {
		s.line(s.buf)
		s.buf = nil
	}
	ev := Event{ID: s.id, Name: s.name, Executed: executed, Duration: time.Since(s.start)}
	if err != nil {
		ev.Err = err.Error()
	}
	s.finish(ev)
}

// Cached closes the step as a cache hit.
func (s *Step) Cached() {
	if s.p == nil || s.done {
		return
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.done = true
	s.finish(Event{ID: s.id, Name: s.name, Cached: true})
}

func (s *Step) finish(ev Event) {
	s.p.log = append(s.p.log, ev)
	if !s.p.closed {
		s.p.d.done(s, ev)
	}
}

// plainDisplay is buildx's --progress=plain.
type plainDisplay struct{ w io.Writer }

func (d *plainDisplay) start(s *Step) { fmt.Fprintf(d.w, "#%d %s\n", s.id, s.name) }

func (d *plainDisplay) output(s *Step, line []byte) {
	fmt.Fprintf(d.w, "#%d %.3f %s\n", s.id, time.Since(s.start).Seconds(), line)
}

func (d *plainDisplay) done(s *Step, ev Event) {
	switch {
	case ev.Cached:
		fmt.Fprintf(d.w, "#%d CACHED\n", s.id)
	case ev.Err != "":
		fmt.Fprintf(d.w, "#%d ERROR: %s\n", s.id, ev.Err)
	default:
		fmt.Fprintf(d.w, "#%d DONE %.1fs\n", s.id, ev.Duration.Seconds())
	}
}

func (d *plainDisplay) printf(text string) { io.WriteString(d.w, text) }
func (d *plainDisplay) close()             {}
