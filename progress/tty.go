package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// ttyDisplay is buildx's interactive view: finished steps scroll up once
// with their final state; below them a live area, redrawn every tick,
// shows the build time and each running step with its timer and the tail
// of its output. Only the live area is ever redrawn, so the cost of a
// frame does not grow with the number of steps.
type ttyDisplay struct {
	w        io.Writer
	fd       int // for the terminal width; -1 when unknown
	started  time.Time
	running  []*Step
	total    int
	finished int
	pending  []string // lines to print above the live area on the next frame
	drawn    int      // lines of the live area now on screen
	stop     chan struct{}
	closed   bool
}

const ttyTick = 100 * time.Millisecond

func newTTYDisplay(w io.Writer) *ttyDisplay {
	d := &ttyDisplay{w: w, fd: -1, started: time.Now(), stop: make(chan struct{})}
	if f, ok := w.(*os.File); ok {
		d.fd = int(f.Fd())
	}
	return d
}

// attach starts the ticker; it needs the Printer lock to redraw.
func (d *ttyDisplay) attach(mu interface {
	Lock()
	Unlock()
}) {
	go func() {
		t := time.NewTicker(ttyTick)
		defer t.Stop()
		for {
			select {
			case <-d.stop:
				return
			case <-t.C:
				mu.Lock()
				if !d.closed {
					d.redraw(false)
				}
				mu.Unlock()
			}
		}
	}()
}

func (d *ttyDisplay) width() int {
	if d.fd >= 0 {
		if ws, err := unix.IoctlGetWinsize(d.fd, unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
			return int(ws.Col)
		}
	}
	return 80
}

func (d *ttyDisplay) start(s *Step) {
	d.total++
	d.running = append(d.running, s)
}

func (d *ttyDisplay) output(*Step, []byte) {} // the tail is kept on the Step

func (d *ttyDisplay) done(s *Step, ev Event) {
	d.finished++
	for i, r := range d.running {
		if r == s {
			d.running = append(d.running[:i], d.running[i+1:]...)
			break
		}
	}
	switch {
	case ev.Cached:
		d.pending = append(d.pending, "=> CACHED "+s.name)
	case ev.Err != "":
		d.pending = append(d.pending, fmt.Sprintf("=> ERROR %s %s", s.name, secs(ev.Duration)))
		for _, l := range s.tail {
			d.pending = append(d.pending, "=> > "+string(l))
		}
	default:
		d.pending = append(d.pending, fmt.Sprintf("=> %s %s", s.name, secs(ev.Duration)))
	}
}

func (d *ttyDisplay) printf(text string) {
	d.pending = append(d.pending, strings.Split(strings.TrimSuffix(text, "\n"), "\n")...)
}

func (d *ttyDisplay) close() {
	close(d.stop)
	d.redraw(true)
	d.closed = true
}

func secs(t time.Duration) string { return fmt.Sprintf("%.1fs", t.Seconds()) }

// redraw replaces the live area with the current state; final leaves only
// the summary line. Called with Printer.mu held.
func (d *ttyDisplay) redraw(final bool) {
	width := d.width()
	var b strings.Builder
	if d.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", d.drawn) // back to the top of the live area
	}
	b.WriteString("\r\x1b[J") // and clear it
	for _, l := range d.pending {
		b.WriteString(fit(l, width))
		b.WriteString("\n")
	}
	d.pending = d.pending[:0]
	state := "Building"
	if final {
		state = "Finished"
	}
	lines := []string{fmt.Sprintf("[+] %s %s (%d/%d)", state, secs(time.Since(d.started)), d.finished, d.total)}
	if !final {
		for _, s := range d.running {
			lines = append(lines, fmt.Sprintf("=> %s %s", s.name, secs(time.Since(s.start))))
			for _, st := range s.statuses {
				lines = append(lines, fmt.Sprintf("=> => %s %s", st.name, secs(time.Since(st.start))))
			}
			for _, l := range s.tail {
				lines = append(lines, "=> > "+string(l))
			}
		}
	}
	for _, l := range lines {
		b.WriteString(fit(l, width))
		b.WriteString("\n")
	}
	d.drawn = len(lines)
	io.WriteString(d.w, b.String())
}

// fit makes l one terminal row: no control characters (a \r keeps what
// follows it, as a terminal would show), cut to width-1 runes so it never
// wraps and the live area's line count stays exact.
func fit(l string, width int) string {
	if i := strings.LastIndexByte(strings.TrimRight(l, "\r"), '\r'); i >= 0 {
		l = l[i+1:]
	}
	l = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			if r == '\t' {
				return ' '
			}
			return -1
		}
		return r
	}, l)
	if max := width - 1; max > 0 && utf8.RuneCountInString(l) > max {
		r := []rune(l)
		l = string(r[:max])
	}
	return l
}
