package events

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/flock"
)

// Message is the Engine API's event message.
type Message = events.Message

// MaxSize is the log size past which it is rotated.
var MaxSize int64 = 4 << 20

const (
	logName  = "events.log"
	lockName = "events.lock"
)

// Record appends an event of type typ about the object id (attrs are its
// Actor's attributes) to root's log, now. Callers treat a failure as a
// warning: the event log never fails the action it records.
func Record(root string, typ events.Type, action events.Action, id string, attrs map[string]string) error {
	now := time.Now()
	m := Message{Type: typ, Action: action, Actor: events.Actor{ID: id, Attributes: attrs},
		Scope: "local", Time: now.Unix(), TimeNano: now.UnixNano()}
	line, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(line) >= maxLine {
		return fmt.Errorf("recording %s %s event: %d bytes is too long", typ, action, len(line))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = flock.With(ctx, filepath.Join(root, lockName), unix.LOCK_EX, func() error {
		p := filepath.Join(root, logName)
		if fi, err := os.Stat(p); err == nil && fi.Size()+int64(len(line)) > MaxSize {
			if err := os.Rename(p, p+".1"); err != nil {
				return err
			}
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		_, err = f.Write(append(line, '\n'))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("recording %s %s event: %w", typ, action, err)
	}
	return nil
}

// Filter is docker's --filter for events: key to accepted values. Keys:
// type, event (action), container, image, network, volume (an ID or name
// attribute) and label (KEY or KEY=VALUE, all of them).
type Filter map[string][]string

// ParseFilter reads KEY=VALUE flags into a Filter.
func ParseFilter(flags []string) (Filter, error) {
	f := Filter{}
	for _, kv := range flags {
		k, v, ok := strings.Cut(kv, "=")
		switch k {
		case "type", "event", "container", "image", "network", "volume", "label", "scope":
		default:
			return nil, fmt.Errorf("invalid filter %q", k)
		}
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", kv)
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// Match reports whether m passes every key of f: any of a key's values,
// but all of the labels.
func (f Filter) Match(m *Message) bool {
	for k, vals := range f {
		if !f.matchKey(k, vals, m) {
			return false
		}
	}
	return true
}

func (f Filter) matchKey(k string, vals []string, m *Message) bool {
	attrs := m.Actor.Attributes
	if k == "label" {
		// Labels narrow, as docker's: every one given must be there
		// (compose asks for its project's label and oneoff=False).
		for _, v := range vals {
			lk, lv, hasV := strings.Cut(v, "=")
			if got, ok := attrs[lk]; !ok || hasV && got != lv {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		switch k {
		case "type":
			if string(m.Type) == v {
				return true
			}
		case "event":
			// exec_start: CMD matches exec_start, as in docker.
			if a, _, _ := strings.Cut(string(m.Action), ":"); a == v || string(m.Action) == v {
				return true
			}
		case "scope":
			if m.Scope == v {
				return true
			}
		default: // container, image, network, volume
			if objectMatch(k, v, m) {
				return true
			}
		}
	}
	return false
}

// objectMatch: m is about object kind k named or identified by v, or (for
// image) a container of image v.
func objectMatch(k, v string, m *Message) bool {
	attrs := m.Actor.Attributes
	if k == "image" && m.Type == events.ContainerEventType {
		return attrs["image"] == v
	}
	if string(m.Type) != k {
		return false
	}
	return m.Actor.ID == v || attrs["name"] == v || len(v) >= 12 && strings.HasPrefix(m.Actor.ID, v)
}

// Read returns root's recorded events from since up to until (zero: no
// bound) that match f, oldest first, and the log's end, from which
// Follow goes on.
func Read(root string, since, until time.Time, f Filter) ([]Message, *Cursor, error) {
	var out []Message
	keep := func(m *Message) {
		if inWindow(m, since, until) && f.Match(m) {
			out = append(out, *m)
		}
	}
	p := filepath.Join(root, logName)
	old, err := os.Open(p + ".1")
	if err == nil {
		rotated := &Cursor{f: old, rd: bufio.NewReader(old)}
		err = rotated.drain(keep)
		rotated.Close()
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	cur := &Cursor{path: p}
	if err := cur.next(keep); err != nil {
		return nil, nil, err
	}
	return out, cur, nil
}

func inWindow(m *Message, since, until time.Time) bool {
	t := time.Unix(0, m.TimeNano)
	return (since.IsZero() || !t.Before(since)) && (until.IsZero() || !t.After(until))
}

// Cursor is a reading position in the log that follows its rotations.
type Cursor struct {
	path string
	f    *os.File
	rd   *bufio.Reader
}

// next delivers the lines appended since the last call: the rest of the
// open file (rotated away or not), then, when the log was rotated, the
// new one from its start.
func (c *Cursor) next(fn func(*Message)) error {
	for range 3 { // a log rotated more than twice per poll loses lines
		if c.f != nil {
			if err := c.drain(fn); err != nil {
				return err
			}
			if c.same() {
				return nil
			}
			c.f.Close()
			c.f = nil
		}
		f, err := os.Open(c.path)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		c.f, c.rd = f, bufio.NewReader(f)
	}
	return nil
}

// drain reads whole lines to the end of the open file; a partial last
// line stays for the next call.
func (c *Cursor) drain(fn func(*Message)) error {
	for {
		line, n, err := readLine(c.rd)
		if err == io.EOF {
			if n > 0 {
				// Not complete yet: read it again next time.
				if _, serr := c.f.Seek(-int64(n), io.SeekCurrent); serr != nil {
					return serr
				}
				c.rd.Reset(c.f)
			}
			return nil
		}
		if err != nil {
			return err
		}
		var m Message
		if line != nil && json.Unmarshal(line, &m) == nil {
			fn(&m)
		}
	}
}

// maxLine bounds an event's line: Record writes none longer, and readers
// skip (in bounded memory) a longer one that someone else wrote.
const maxLine = 256 << 10

// readLine reads a line and how many bytes it took; the line is nil when
// it was longer than maxLine.
func readLine(rd *bufio.Reader) (line []byte, n int, err error) {
	tooLong := false
	for {
		chunk, err := rd.ReadSlice('\n')
		n += len(chunk)
		if !tooLong && len(line)+len(chunk) <= maxLine {
			line = append(line, chunk...)
		} else {
			tooLong, line = true, nil
		}
		if err != bufio.ErrBufferFull {
			return line, n, err
		}
	}
}

// same reports whether the open file is still the one at path.
func (c *Cursor) same() bool {
	a, err := c.f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(c.path)
	if err != nil {
		return false
	}
	as, aok := a.Sys().(*syscall.Stat_t)
	bs, bok := b.Sys().(*syscall.Stat_t)
	return aok && bok && as.Ino == bs.Ino && as.Dev == bs.Dev
}

// Follow delivers to fn the events appended after cur that match f,
// polling every interval, until ctx ends (nil then) or until passes.
func Follow(ctx context.Context, cur *Cursor, until time.Time, f Filter, interval time.Duration, fn func(*Message)) error {
	defer cur.Close()
	for {
		if err := cur.next(func(m *Message) {
			if f.Match(m) && inWindow(m, time.Time{}, until) {
				fn(m)
			}
		}); err != nil {
			return err
		}
		if !until.IsZero() && time.Now().After(until) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// Close releases the cursor's file.
func (c *Cursor) Close() {
	if c.f != nil {
		c.f.Close()
		c.f = nil
	}
}

// Show passes to emit root's recorded events in [from, to] that match f,
// then follows new ones unless to is set and has passed, until ctx ends
// or emit fails (`lade events` and the API's events alike). With neither
// from nor to it replays nothing, as dockerd: only events from now on;
// to alone replays all up to it.
func Show(ctx context.Context, root string, from, to time.Time, f Filter, emit func(*Message) error) error {
	if from.IsZero() && to.IsZero() {
		from = time.Now()
	}
	past, cur, err := Read(root, from, to, f)
	if err != nil {
		return err
	}
	defer cur.Close()
	var perr error
	each := func(m *Message) {
		if perr == nil {
			perr = emit(m)
		}
	}
	for i := range past {
		each(&past[i])
	}
	if perr != nil || !to.IsZero() && !to.After(time.Now()) {
		return perr
	}
	if err := Follow(ctx, cur, to, f, 200*time.Millisecond, each); err != nil {
		return err
	}
	return perr
}
