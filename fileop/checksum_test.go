package fileop

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

func TestChecksum(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) string {
		dir := t.TempDir()
		writeT(t, filepath.Join(dir, "a.txt"), "aaaa")
		writeT(t, filepath.Join(dir, "src/b.txt"), "bbbb")
		writeT(t, filepath.Join(dir, "src/ignored.log"), "log")
		if err := os.Symlink("b.txt", filepath.Join(dir, "src/link")); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	ignore, err := NewMatcher([]string{"**/*.log"})
	if err != nil {
		t.Fatal(err)
	}
	sum := func(t *testing.T, dir string, sc *StatCache, paths ...string) string {
		t.Helper()
		d, err := Checksum(ctx, Source{Root: dir, Ignore: ignore}, paths, sc)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name    string
		change  func(t *testing.T, dir string)
		paths   []string
		changed bool
	}{
		{"nothing", func(t *testing.T, dir string) {}, []string{"."}, false},
		{"mtime only", func(t *testing.T, dir string) {
			tm := time.Now().Add(-time.Hour)
			os.Chtimes(filepath.Join(dir, "a.txt"), tm, tm)
		}, []string{"."}, false},
		{"ignored file", func(t *testing.T, dir string) { writeT(t, filepath.Join(dir, "src/ignored.log"), "other") }, []string{"."}, false},
		{"file outside the sources", func(t *testing.T, dir string) { writeT(t, filepath.Join(dir, "a.txt"), "zzzz") }, []string{"src"}, false},
		{"content", func(t *testing.T, dir string) { writeT(t, filepath.Join(dir, "src/b.txt"), "BBBB") }, []string{"src"}, true},
		{"new file", func(t *testing.T, dir string) { writeT(t, filepath.Join(dir, "src/c.txt"), "c") }, []string{"src/*.txt"}, true},
		{"mode", func(t *testing.T, dir string) { os.Chmod(filepath.Join(dir, "a.txt"), 0o755) }, []string{"a.txt"}, true},
		{"link target", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "src/link"))
			os.Symlink("../a.txt", filepath.Join(dir, "src/link"))
		}, []string{"src"}, true},
		{"rename", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, "src/b.txt"), filepath.Join(dir, "src/b2.txt"))
		}, []string{"src"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := setup(t)
			sc := OpenStatCache(filepath.Join(t.TempDir(), "stat.json"))
			before := sum(t, dir, sc, tt.paths...)
			tt.change(t, dir)
			after := sum(t, dir, sc, tt.paths...)
			if (before != after) != tt.changed {
				t.Errorf("checksum changed = %v, want %v", before != after, tt.changed)
			}
		})
	}
}

// Rewriting a file with the same size and the same mtime must still be
// seen (moby/buildkit#4817): ctime moves on every write.
func TestChecksumSeesSameSizeSameMtimeRewrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	writeT(t, p, "version-1")
	fixed := time.Unix(1700000000, 0)
	os.Chtimes(p, fixed, fixed)
	sc := OpenStatCache(filepath.Join(t.TempDir(), "stat.json"))
	before, err := Checksum(context.Background(), Source{Root: dir}, []string{"f"}, sc)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // let ctime tick on coarse clocks
	writeT(t, p, "version-2")         // same size
	os.Chtimes(p, fixed, fixed)       // same mtime
	after, err := Checksum(context.Background(), Source{Root: dir}, []string{"f"}, sc)
	if err != nil {
		t.Fatal(err)
	}
	if before == after {
		t.Fatal("a same-size, same-mtime rewrite was not noticed")
	}
}

// A second pass over an unchanged context reads no file content, also after
// the stat record went through disk.
func TestStatCacheAvoidsReads(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 20; i++ {
		writeT(t, filepath.Join(dir, "d", string(rune('a'+i))), "x")
	}
	file := filepath.Join(t.TempDir(), "stat.json")
	sc := OpenStatCache(file)
	first, err := Checksum(context.Background(), Source{Root: dir}, []string{"."}, sc)
	if err != nil {
		t.Fatal(err)
	}
	if sc.reads != 20 {
		t.Fatalf("first pass read %d files, want 20", sc.reads)
	}
	if err := sc.Save(); err != nil {
		t.Fatal(err)
	}
	sc2 := OpenStatCache(file)
	second, err := Checksum(context.Background(), Source{Root: dir}, []string{"."}, sc2)
	if err != nil {
		t.Fatal(err)
	}
	if sc2.reads != 0 || first != second {
		t.Errorf("second pass read %d files (want 0), equal=%v", sc2.reads, first == second)
	}
}

func TestChecksumMissingSource(t *testing.T) {
	if _, err := Checksum(context.Background(), Source{Root: t.TempDir()}, []string{"nope"}, nil); err == nil {
		t.Fatal("missing source accepted")
	}
}

// writeT writes file p (mode 0644), making its parent dirs.
func writeT(t *testing.T, p, s string) {
	t.Helper()
	testutil.WriteTree(t, filepath.Dir(p), map[string]string{filepath.Base(p): s})
}
