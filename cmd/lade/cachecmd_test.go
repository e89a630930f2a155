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

// Each build context keeps its own stat record; prune removes the records
// not used for --min-age and the root-wide record older versions kept,
// and a build whose context lost its record still hashes it right.
func TestPruneRemovesStaleStatCaches(t *testing.T) {
	root := newRoot(t)
	dir := filepath.Join(root, "cache", "statcache")
	build := func(ctxDir string) {
		t.Helper()
		if r := lade(t, root, "", "build", "-q", "-t", "sc", ctxDir); r.code != 0 {
			t.Fatalf("build: %s", r.stderr)
		}
	}
	records := func() []string {
		ents, _ := os.ReadDir(dir)
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out
	}
	df := "FROM busybox\nCOPY . /ctx/\n"
	stale := writeTree(t, map[string]string{"Dockerfile": df, "f": "stale"})
	build(stale)
	old := records()
	if len(old) != 1 {
		t.Fatalf("after one build: records %v, want one", old)
	}
	legacy := filepath.Join(root, "cache", "statcache.json")
	if err := os.WriteFile(legacy, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	long := time.Now().Add(-time.Hour)
	for _, p := range []string{legacy, filepath.Join(dir, old[0])} {
		if err := os.Chtimes(p, long, long); err != nil {
			t.Fatal(err)
		}
	}
	build(writeTree(t, map[string]string{"Dockerfile": df, "f": "fresh"}))
	if n := len(records()); n != 2 {
		t.Fatalf("after a second context: %d records, want 2", n)
	}
	if r := lade(t, root, "", "cache", "prune", "-f", "--min-age", "1m"); r.code != 0 {
		t.Fatalf("prune: %s", r.stderr)
	}
	left := records()
	if len(left) != 1 || left[0] == old[0] {
		t.Errorf("after prune: records %v, want only the fresh one (stale was %s)", left, old[0])
	}
	if _, err := os.Stat(legacy); !os.IsNotExist(err) {
		t.Errorf("legacy statcache.json survived prune: %v", err)
	}
	build(stale)
	if n := len(records()); n != 2 {
		t.Errorf("rebuilding the pruned context: %d records, want 2", n)
	}
}
