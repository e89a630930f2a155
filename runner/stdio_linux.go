package runner

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// A container process never gets one of lade's own files as stdin, stdout
// or stderr, and without a terminal of its own it runs in a new session:
// lade's terminal in its hands could be read, reconfigured or fed
// keystrokes for the operator's shell (TIOCSTI), through the fd or through
// /dev/tty. As in docker, it gets pipes (or /dev/null) instead.

// outputGrace is how long the end of an exec'd command waits for output
// that a process it left behind still holds open.
const outputGrace = 100 * time.Millisecond

// hiddenFile hides a writer's *os.File, so exec.Cmd hands the process a
// pipe and copies from it rather than passing the file itself.
type hiddenFile struct{ io.Writer }

// outputPipe returns w such that a process started with it gets a pipe.
func outputPipe(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok && f != nil {
		return hiddenFile{w}
	}
	return w
}

// stdinPipe copies r into a new pipe and returns the pipe's read end for
// the process (nil when r is nil: exec.Cmd then opens /dev/null) and a
// function that closes the write end, which the caller calls once the
// process ended. exec.Cmd's own copy would make Wait wait for r's EOF,
// which a terminal may never send.
func stdinPipe(r io.Reader) (*os.File, func(), error) {
	if r == nil {
		return nil, func() {}, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("stdin pipe: %w", err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { pw.Close() }) }
	go func() {
		// This may stay blocked reading r after the process ended; its
		// next write then fails on the closed pipe.
		_, _ = io.Copy(pw, r)
		stop()
	}()
	return pr, stop, nil
}
