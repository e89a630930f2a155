package container

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// logEntry is one line of container.log.
type logEntry struct {
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
	Log    string    `json:"log"`
}

// logFile appends entries from several streams to one file.
type logFile struct {
	mu sync.Mutex
	f  *os.File
}

func openLog(p string) (*logFile, error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening container log: %w", err)
	}
	return &logFile{f: f}, nil
}

func (l *logFile) Close() error { return l.f.Close() }

func (l *logFile) write(stream string, line []byte) error {
	data, err := json.Marshal(logEntry{Stream: stream, Time: time.Now().UTC(), Log: string(line)})
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err = l.f.Write(append(data, '\n'))
	return err
}

// streamWriter splits one stream into lines for the log; Flush writes a
// trailing partial line.
type streamWriter struct {
	log    *logFile
	stream string
	// eager writes a partial line at once, as its own entry (a terminal's
	// prompt reaches logs -f and attach before its newline does).
	eager bool
	mu    sync.Mutex
	buf   []byte
}

func (w *streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if err := w.log.write(w.stream, w.buf[:i+1]); err != nil {
			return 0, err
		}
		w.buf = w.buf[i+1:]
	}
	// Keep memory bounded for output without newlines.
	if len(w.buf) >= 16<<10 || w.eager && len(w.buf) > 0 {
		if err := w.log.write(w.stream, w.buf); err != nil {
			return 0, err
		}
		w.buf = nil
	}
	return len(p), nil
}

func (w *streamWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		_ = w.log.write(w.stream, w.buf)
		w.buf = nil
	}
}

// LogOptions select what ReadLogs shows.
type LogOptions struct {
	Follow     bool
	Tail       int // <0: all
	Timestamps bool
	// Since and Until, when set, bound the entries' times; a follow ends
	// once Until has passed.
	Since, Until time.Time
	// Details prefixes each line with its extra attributes, as docker's
	// --details (lade's log has none: an empty prefix and a space).
	Details bool
	// ended, when set, says when a follow ends instead of the container
	// no longer being supervised (attach's wait for a created one).
	ended func() bool
}

// shows reports whether the entry at t is in the options' window.
func (o *LogOptions) shows(t time.Time) bool {
	return (o.Since.IsZero() || !t.Before(o.Since)) && (o.Until.IsZero() || !t.After(o.Until))
}

// ReadLogs copies c's log to stdout and stderr by stream. With Follow it
// keeps reading until the container stops or ctx ends.
func (s *Store) ReadLogs(ctx context.Context, id string, opts LogOptions, stdout, stderr io.Writer) error {
	var c Config
	if err := readJSON(filepath.Join(s.Dir(id), "config.json"), &c); err == nil && c.LogDriver == "none" {
		return errors.New(`configured logging driver does not support reading`)
	}
	f, err := os.Open(s.LogPath(id))
	if errors.Is(err, os.ErrNotExist) {
		if !opts.Follow {
			return nil
		}
		if f, err = os.OpenFile(s.LogPath(id), os.O_RDONLY|os.O_CREATE, 0o600); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("opening container log: %w", err)
	}
	defer f.Close()
	emit := func(line []byte) { opts.emit(line, stdout, stderr) }
	r := bufio.NewReader(f)
	var lines [][]byte
	var partial []byte
	readAll := func(keep func([]byte)) error {
		for {
			b, err := r.ReadBytes('\n')
			partial = append(partial, b...)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			keep(partial)
			partial = nil
		}
	}
	if err := readAll(func(b []byte) {
		if opts.Since.IsZero() && opts.Until.IsZero() || opts.shows(entryTime(b)) {
			lines = append(lines, b)
		}
	}); err != nil {
		return err
	}
	if opts.Tail >= 0 && len(lines) > opts.Tail {
		lines = lines[len(lines)-opts.Tail:]
	}
	for _, l := range lines {
		emit(l)
	}
	if !opts.Follow {
		return nil
	}
	for {
		stopped := !s.supervised(id)
		if opts.ended != nil {
			stopped = opts.ended()
		}
		if err := readAll(emit); err != nil {
			return err
		}
		if stopped || !opts.Until.IsZero() && time.Now().After(opts.Until) {
			return nil // everything written before it stopped is out
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// emit prints a log line, if in the window, to the writer of its stream.
func (o *LogOptions) emit(line []byte, stdout, stderr io.Writer) {
	var e logEntry
	if json.Unmarshal(line, &e) != nil || !o.shows(e.Time) {
		return
	}
	w := stdout
	if e.Stream == "stderr" {
		w = stderr
	}
	if o.Timestamps {
		fmt.Fprint(w, e.Time.Format(time.RFC3339Nano)+" ")
	}
	if o.Details {
		fmt.Fprint(w, " ")
	}
	io.WriteString(w, e.Log)
}

// entryTime is the time of a log line; zero when it does not decode.
func entryTime(line []byte) time.Time {
	var e logEntry
	_ = json.Unmarshal(line, &e)
	return e.Time
}
