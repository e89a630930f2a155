package events

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
)

func TestFilter(t *testing.T) {
	ctr := &Message{Type: events.ContainerEventType, Action: "exec_start: sh -c true", Actor: events.Actor{
		ID: "0123456789abcdef0123", Attributes: map[string]string{"name": "web", "image": "busybox", "tier": "front"}}}
	for _, tc := range []struct {
		flags []string
		want  bool
	}{
		{nil, true},
		{[]string{"type=container"}, true},
		{[]string{"type=image"}, false},
		{[]string{"type=image", "type=container"}, true},
		{[]string{"event=exec_start"}, true},
		{[]string{"container=web"}, true},
		{[]string{"container=0123456789ab"}, true},
		{[]string{"container=other"}, false},
		{[]string{"image=busybox"}, true},
		{[]string{"label=tier=front", "container=web"}, true},
		{[]string{"label=tier=back"}, false},
		{[]string{"label=tier=front", "label=name=web"}, true},
		{[]string{"label=tier=front", "label=tier=back"}, false},
		{[]string{"label=tier", "label=missing"}, false},
	} {
		f, err := ParseFilter(tc.flags)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Match(ctr); got != tc.want {
			t.Errorf("%v.Match = %v, want %v", tc.flags, got, tc.want)
		}
	}
	if _, err := ParseFilter([]string{"colour=red"}); err == nil {
		t.Error("an unknown filter key was accepted")
	}
}

// TestConcurrentRotation: writers in parallel, with rotations, leave only
// whole lines, at most two files' worth, the newest kept.
func TestConcurrentRotation(t *testing.T) {
	root := t.TempDir()
	defer func(old int64) { MaxSize = old }(MaxSize)
	MaxSize = 4 << 10
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if err := Record(root, events.ContainerEventType, "start", fmt.Sprintf("w%d-%d", w, i), nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := Record(root, events.ContainerEventType, "die", "final", nil); err != nil {
		t.Fatal(err)
	}
	got, cur, err := Read(root, time.Time{}, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cur.Close()
	if len(got) == 0 || len(got) > 200 || got[len(got)-1].Actor.ID != "final" {
		t.Fatalf("read %d events, want some (not all: rotated), the last one last", len(got))
	}
	lines := 0
	for _, name := range []string{"events.log", "events.log.1"} {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil || int64(len(data)) > MaxSize {
			t.Errorf("%s: %v, size %d over %d", name, err, len(data), MaxSize)
		}
		lines += strings.Count(string(data), "\n")
	}
	if lines != len(got) {
		t.Errorf("%d lines in the files, %d whole events", lines, len(got))
	}
}

// TestFollowAcrossRotation: Follow delivers events appended after Read,
// also after the log is rotated under it.
func TestFollowAcrossRotation(t *testing.T) {
	root := t.TempDir()
	defer func(old int64) { MaxSize = old }(MaxSize)
	MaxSize = 1 << 10
	_, cur, err := Read(root, time.Time{}, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 30 // several rotations' worth
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seen := make(chan string, n)
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, cur, time.Time{}, nil, 5*time.Millisecond, func(m *Message) { seen <- m.Actor.ID })
	}()
	for i := range n {
		if err := Record(root, events.VolumeEventType, "create", fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
		// One event at a time: each is seen before the next rotation.
		select {
		case id := <-seen:
			if id != fmt.Sprint(i) {
				t.Fatalf("followed %s, want %d", id, i)
			}
		case <-ctx.Done():
			t.Fatalf("event %d not followed", i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestHostileLog: lines that are not events, torn or longer than any
// event are skipped, in bounded memory; the events around them are read.
func TestHostileLog(t *testing.T) {
	root := t.TempDir()
	if err := Record(root, events.ContainerEventType, "create", "before", nil); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(root, "events.log"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := "not json\n{\"Type\":\n" + strings.Repeat("x", 3*maxLine) + "\n\x00\xff\n"
	if _, err := f.WriteString(junk); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := Record(root, events.ContainerEventType, "die", "after", nil); err != nil {
		t.Fatal(err)
	}
	got, cur, err := Read(root, time.Time{}, time.Time{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cur.Close()
	if len(got) != 2 || got[0].Actor.ID != "before" || got[1].Actor.ID != "after" {
		t.Errorf("read %+v, want the two events around the junk", got)
	}
	if err := Record(root, events.ContainerEventType, "create", "big", map[string]string{"x": strings.Repeat("y", maxLine)}); err == nil {
		t.Error("an event longer than maxLine was recorded")
	}
}

// TestShowWindow: Show replays the past only when given a since or an
// until, as dockerd; a cancelled context ends the following at once.
func TestShowWindow(t *testing.T) {
	root := t.TempDir()
	if err := Record(root, events.VolumeEventType, events.ActionCreate, "old", nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name        string
		since, till time.Time
		want        int
	}{
		{"neither", time.Time{}, time.Time{}, 0},
		{"since", now.Add(-time.Hour), time.Time{}, 1},
		{"until", time.Time{}, now, 1},
		{"since after", now.Add(time.Hour), time.Time{}, 0},
	} {
		got := 0
		err := Show(ctx, root, tc.since, tc.till, Filter{}, func(*Message) error { got++; return nil })
		if err != nil || got != tc.want {
			t.Errorf("%s: %d events (%v), want %d", tc.name, got, err, tc.want)
		}
	}
}
