package main

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// TestTopStats: top lists the container's processes with docker's
// columns, stats --no-stream prints its row with the memory it uses.
func TestTopStats(t *testing.T) {
	root := newRoot(t)
	id := runDetached(t, root, "--name", "busy", "busybox", "sh", "-c", "sleep 301 & sleep 302 & wait")
	columns := regexp.MustCompile(`\s{2,}`)
	t.Run("top", func(t *testing.T) {
		r := lade(t, root, "", "top", "busy")
		t.Log(r.stdout)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) < 2 {
			t.Fatalf("top: %+v", r)
		}
		if got, want := strings.Fields(lines[0]), []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}; !slices.Equal(got, want) {
			t.Errorf("top titles %q, want %q", got, want)
		}
		for _, cmd := range []string{"sleep 301", "sleep 302"} {
			if !strings.Contains(r.stdout, cmd) {
				t.Errorf("top does not list %q:\n%s", cmd, r.stdout)
			}
		}
		if r := lade(t, root, "", "top", "busy", "-o", "pid,args"); !strings.HasPrefix(r.stdout, "PID") || !strings.Contains(r.stdout, "sleep 302") {
			t.Errorf("top -o pid,args: %+v", r)
		}
	})
	t.Run("stats --no-stream", func(t *testing.T) {
		r := lade(t, root, "", "stats", "--no-stream")
		t.Log(r.stdout)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) != 2 {
			t.Fatalf("stats: %+v", r)
		}
		header := columns.Split(strings.TrimSpace(lines[0]), -1)
		if want := []string{"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"}; !slices.Equal(header, want) {
			t.Errorf("stats header %q, want %q", header, want)
		}
		row := columns.Split(strings.TrimSpace(lines[1]), -1)
		if len(row) != 8 || row[0] != id[:12] || row[1] != "busy" || strings.HasPrefix(row[3], "0B ") || row[7] != "3" {
			t.Errorf("stats row %q, want busy's ID, name, non-zero memory and 3 processes", row)
		}
	})
	t.Run("stats streams until interrupted", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var out, errb testutil.LockedBuffer
		done := make(chan int, 1)
		go func() {
			done <- Run(ctx, []string{"--root", root, "stats", "--format", "{{.Name}} {{.PIDs}}"}, strings.NewReader(""), &out, &errb)
		}()
		testutil.Poll(t, "two redraws", func() bool { return strings.Count(out.String(), "\033[2J\033[H") >= 2 })
		cancel()
		if code := <-done; code != 0 || !strings.Contains(out.String(), "\033[2J\033[Hbusy 3\n") {
			t.Errorf("stats: exit %d, output %q, stderr %q", code, out.String(), errb.String())
		}
	})
	t.Run("stats --format json", func(t *testing.T) {
		r := lade(t, root, "", "stats", "--no-stream", "--no-trunc", "--format", "{{json .}}", "busy")
		var got map[string]string
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got["ID"] != id || got["Name"] != "busy" || got["PIDs"] != "3" {
			t.Errorf("stats --format json: %+v (%v)", r, err)
		}
	})
}
