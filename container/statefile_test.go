package container

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sync/errgroup"
)

// TestWriteJSONConcurrent: writers racing on one state file each leave
// it whole and no temporary file behind (a shared "p.tmp" name made one
// writer's rename fail and could tear the content).
func TestWriteJSONConcurrent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	var g errgroup.Group
	for w := range 8 {
		g.Go(func() error {
			for i := range 50 {
				if err := writeJSON(p, &State{Status: StatusRunning, Pid: w*1000 + i}, true); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	var st State
	if err := readJSON(p, &st); err != nil {
		t.Fatal(err)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 1 {
		t.Fatalf("dir holds %v (%v), want only state.json", ents, err)
	}
}

// TestRecordsDurable: a --rm container's records are written without
// fsync, by the store that created it and by one that loads it (a shim's);
// every other container's are fsynced.
func TestRecordsDurable(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		autoRemove bool
	}{{"plain", false}, {"rm", true}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{Args: []string{"true"}, AutoRemove: tc.autoRemove}
			if err := s.Create(cfg); err != nil {
				t.Fatal(err)
			}
			if got := s.durable(cfg.ID); got == tc.autoRemove {
				t.Errorf("creating store: durable %v, want %v", got, !tc.autoRemove)
			}
			other, err := Open(s.Root())
			if err != nil {
				t.Fatal(err)
			}
			if !other.durable(cfg.ID) {
				t.Errorf("a store that has not read the container: not durable")
			}
			if _, err := other.load(cfg.ID); err != nil {
				t.Fatal(err)
			}
			if got := other.durable(cfg.ID); got == tc.autoRemove {
				t.Errorf("loading store: durable %v, want %v", got, !tc.autoRemove)
			}
		})
	}
}
