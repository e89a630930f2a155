package solver

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestContextChecksumOnce: the prehash, COPY keys and bind-mount keys of
// one build share one walk per path; a walk cut short by its caller's
// cancellation is not kept.
func TestContextChecksumOnce(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	bd := &build{b: &Builder{}, o: Options{ContextDir: dir}, sh: &shared{}}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := bd.contextChecksum(cancelled, "."); err == nil {
		t.Fatal("a cancelled checksum succeeded")
	}

	ctx := context.Background()
	var wg sync.WaitGroup
	sums := make([]string, 8)
	for i := range sums {
		wg.Go(func() {
			d, err := bd.contextChecksum(ctx, ".")
			if err != nil {
				t.Error(err)
			}
			sums[i] = d
		})
	}
	wg.Wait()
	for _, d := range sums {
		if d == "" || d != sums[0] {
			t.Fatalf("callers got different digests: %q", sums)
		}
	}
	// The tree changes under the build: the build keeps what it saw.
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, _ := bd.contextChecksum(ctx, "."); d != sums[0] {
		t.Errorf("second checksum walked again: %s, want %s", d, sums[0])
	}
}
