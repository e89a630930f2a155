package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A cache import killed while it seeds a cache mount leaves a seed- dir
// beside the mount's data: prune reclaims it like the other temp dirs.
func TestPruneRemovesSeedLeftovers(t *testing.T) {
	root := newRoot(t)
	mount := filepath.Join(root, "cachemounts", strings.Repeat("ab", 32))
	old := time.Now().Add(-time.Hour)
	for _, d := range []string{"data", "seed-123", "init-456"} {
		p := filepath.Join(mount, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if r := lade(t, root, "", "cache", "prune", "-f", "--min-age", "1m"); r.code != 0 {
		t.Fatalf("prune: %s", r.stderr)
	}
	for d, kept := range map[string]bool{"data": true, "seed-123": false, "init-456": false} {
		if _, err := os.Stat(filepath.Join(mount, d)); (err == nil) != kept {
			t.Errorf("%s: kept %v, want %v", d, err == nil, kept)
		}
	}
}
