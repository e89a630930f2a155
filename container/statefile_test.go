package container

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestWriteJSONConcurrent: writers racing on one state file each leave
// it whole and no temporary file behind (a shared "p.tmp" name made one
// writer's rename fail and could tear the content).
func TestWriteJSONConcurrent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	var wg sync.WaitGroup
	errs := make(chan error, 8*50)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				errs <- writeJSON(p, &State{Status: StatusRunning, Pid: w*1000 + i})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var st State
	if err := readJSON(p, &st); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 {
		t.Fatalf("dir holds %v (%v), want only state.json", ents, err)
	}
}
