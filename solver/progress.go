package solver

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
)

// Progress prints buildx-style plain progress: "#N [stage k/n] INSTRUCTION",
// the step's output prefixed with "#N", then "#N DONE 0.3s" or "#N ERROR".
// It is safe for concurrent steps. A nil *Progress discards everything.
type Progress struct {
	mu  sync.Mutex
	w   io.Writer
	n   int
	log []Event
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

// NewProgress writes progress to w (nil discards).
func NewProgress(w io.Writer) *Progress {
	if w == nil {
		w = io.Discard
	}
	return &Progress{w: w}
}

// Step is one vertex in the progress output.
type Step struct {
	p     *Progress
	id    int
	name  string
	start time.Time
	buf   []byte
	done  bool
}

// Start announces a step.
func (p *Progress) Start(name string) *Step {
	if p == nil {
		return &Step{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	fmt.Fprintf(p.w, "#%d %s\n", p.n, name)
	return &Step{p: p, id: p.n, name: name, start: time.Now()}
}

// Events returns the finished steps so far.
func (p *Progress) Events() []Event {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.log...)
}

// Printf writes a free-standing line (warnings, summaries).
func (p *Progress) Printf(format string, args ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format, args...)
}

// Write receives the step's process output and prints it line by line.
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
		fmt.Fprintf(s.p.w, "#%d %.3f %s\n", s.id, time.Since(s.start).Seconds(), s.buf[:i])
		s.buf = s.buf[i+1:]
	}
	return len(b), nil
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
		fmt.Fprintf(s.p.w, "#%d %.3f %s\n", s.id, time.Since(s.start).Seconds(), s.buf)
		s.buf = nil
	}
	ev := Event{ID: s.id, Name: s.name, Executed: executed, Duration: time.Since(s.start)}
	switch {
	case err != nil:
		ev.Err = err.Error()
		fmt.Fprintf(s.p.w, "#%d ERROR: %v\n", s.id, err)
	default:
		fmt.Fprintf(s.p.w, "#%d DONE %.1fs\n", s.id, ev.Duration.Seconds())
	}
	s.p.log = append(s.p.log, ev)
}

// Cached closes the step as a cache hit.
func (s *Step) Cached() {
	if s.p == nil || s.done {
		return
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.done = true
	fmt.Fprintf(s.p.w, "#%d CACHED\n", s.id)
	s.p.log = append(s.p.log, Event{ID: s.id, Name: s.name, Cached: true})
}
