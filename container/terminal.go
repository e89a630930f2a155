package container

import (
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/runner"
)

// Terminal is lade's own terminal while a -t container runs in the
// foreground: the container's terminal takes its size and follows it on
// SIGWINCH, and with raw set it passes every key (^C included) through.
type Terminal struct {
	in, sized *os.File      // the raw-mode terminal and the one sized from
	saved     *unix.Termios // in's settings before raw mode
	mu        sync.Mutex
	master    *os.File // the container's terminal being followed
	winch     chan os.Signal
	done      chan struct{}
}

// OpenTerminal returns lade's terminal, or nil when neither stdin nor
// stdout is one. raw (for -i) puts stdin in raw mode until Close.
func OpenTerminal(stdin io.Reader, stdout io.Writer, raw bool) (*Terminal, error) {
	in, _ := stdin.(*os.File)
	out, _ := stdout.(*os.File)
	if !isTerminal(in) {
		in = nil
	}
	t := &Terminal{in: in, sized: in}
	if t.sized == nil && isTerminal(out) {
		t.sized = out
	}
	if t.sized == nil {
		return nil, nil
	}
	if raw && in != nil {
		saved, err := unix.IoctlGetTermios(int(in.Fd()), unix.TCGETS)
		if err != nil {
			return nil, err
		}
		r := *saved
		// cfmakeraw: no echo, no line editing, no signals from keys, 8 bit.
		r.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		r.Oflag &^= unix.OPOST
		r.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		r.Cflag &^= unix.CSIZE | unix.PARENB
		r.Cflag |= unix.CS8
		r.Cc[unix.VMIN], r.Cc[unix.VTIME] = 1, 0
		if err := unix.IoctlSetTermios(int(in.Fd()), unix.TCSETS, &r); err != nil {
			return nil, err
		}
		t.saved = saved
	}
	t.winch, t.done = make(chan os.Signal, 1), make(chan struct{})
	signal.Notify(t.winch, syscall.SIGWINCH)
	go t.follow()
	return t, nil
}

func isTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Size is the terminal's current size.
func (t *Terminal) Size() runner.WindowSize {
	if t == nil {
		return runner.WindowSize{}
	}
	ws, err := unix.IoctlGetWinsize(int(t.sized.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return runner.WindowSize{}
	}
	return runner.WindowSize{Rows: ws.Row, Cols: ws.Col}
}

// Follow makes master (a container's terminal) track this one's size.
func (t *Terminal) Follow(master *os.File) {
	t.mu.Lock()
	t.master = master
	t.mu.Unlock()
	_ = runner.SetWindowSize(master, t.Size())
}

func (t *Terminal) follow() {
	for {
		select {
		case <-t.done:
			return
		case <-t.winch:
			t.mu.Lock()
			m := t.master
			t.mu.Unlock()
			if m != nil {
				// A closed master (the container ended) just fails.
				_ = runner.SetWindowSize(m, t.Size())
			}
		}
	}
}

// Close restores the terminal's settings.
func (t *Terminal) Close() error {
	if t == nil {
		return nil
	}
	signal.Stop(t.winch)
	close(t.done)
	if t.saved != nil {
		return unix.IoctlSetTermios(int(t.in.Fd()), unix.TCSETS, t.saved)
	}
	return nil
}
