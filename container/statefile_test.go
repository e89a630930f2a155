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
				if err := writeJSON(p, &State{Status: StatusRunning, Pid: w*1000 + i}); err != nil {
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
