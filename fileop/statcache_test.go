package fileop

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// statRecordPaths reads a saved record's keys' paths.
func statRecordPaths(t *testing.T, sc *StatCache) []string {
	t.Helper()
	re := OpenStatCache(sc.path)
	re.mu.Lock()
	re.load()
	defer re.mu.Unlock()
	var out []string
	for k := range re.m {
		p, _, _ := strings.Cut(k, "\x00")
		out = append(out, filepath.Base(p))
	}
	return out
}

// A saved record holds only entries of files present and unchanged: a
// deleted or rewritten file's entry goes, so the record is bounded by the
// context however many edits it saw.
func TestStatCacheBounded(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	caches := StatCaches(filepath.Join(t.TempDir(), "statcache"))
	for _, n := range []string{"a", "b", "c"} {
		writeT(t, filepath.Join(dir, n), n)
	}
	save := func(paths ...string) {
		t.Helper()
		sc := caches.Open(dir)
		if _, err := Checksum(ctx, Source{Root: dir}, paths, sc); err != nil {
			t.Fatal(err)
		}
		if err := sc.Save(); err != nil {
			t.Fatal(err)
		}
	}
	save(".")
	for i := 0; i < 10; i++ { // ten edits of a: one entry, not eleven
		writeT(t, filepath.Join(dir, "a"), strings.Repeat("x", i+2))
		save("a")
	}
	if err := os.Remove(filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	writeT(t, filepath.Join(dir, "a"), "new")
	save("a") // b unused by this build and gone; c unused but unchanged
	got := statRecordPaths(t, caches.Open(dir))
	if strings.Join(sorted(got), ",") != "a,c" {
		t.Errorf("record holds %v, want [a c]", got)
	}
}

func sorted(s []string) []string {
	sort.Strings(s)
	return s
}

// Each context has its own record: building one neither reads nor
// writes another's.
func TestStatCachePerContext(t *testing.T) {
	ctx := context.Background()
	caches := StatCaches(filepath.Join(t.TempDir(), "statcache"))
	one, two := t.TempDir(), t.TempDir()
	writeT(t, filepath.Join(one, "f1"), "1")
	writeT(t, filepath.Join(two, "f2"), "2")
	for _, d := range []string{one, two} {
		sc := caches.Open(d)
		if _, err := Checksum(ctx, Source{Root: d}, []string{"."}, sc); err != nil {
			t.Fatal(err)
		}
		if err := sc.Save(); err != nil {
			t.Fatal(err)
		}
	}
	if p1, p2 := caches.Open(one).path, caches.Open(two).path; p1 == p2 {
		t.Fatalf("both contexts share %s", p1)
	}
	if got := statRecordPaths(t, caches.Open(one)); len(got) != 1 || got[0] != "f1" {
		t.Errorf("record of one holds %v, want [f1]", got)
	}
	if got := statRecordPaths(t, caches.Open(two)); len(got) != 1 || got[0] != "f2" {
		t.Errorf("record of two holds %v, want [f2]", got)
	}
	if n := len(caches.Scratch()); n != 2 {
		t.Errorf("Scratch lists %d records, want 2", n)
	}
}

// A damaged record costs re-hashing, not the build, and is rewritten.
func TestStatCacheCorrupt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeT(t, filepath.Join(dir, "f"), "x")
	caches := StatCaches(filepath.Join(t.TempDir(), "statcache"))
	sc := caches.Open(dir)
	if err := os.MkdirAll(filepath.Dir(sc.path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sc.path, []byte("{\"trunc"), 0o600); err != nil {
		t.Fatal(err)
	}
	want, err := Checksum(ctx, Source{Root: dir}, []string{"."}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Checksum(ctx, Source{Root: dir}, []string{"."}, sc)
	if err != nil || got != want {
		t.Fatalf("checksum with a damaged record: %v, equal=%v", err, got == want)
	}
	if err := sc.Save(); err != nil {
		t.Fatal(err)
	}
	sc2 := caches.Open(dir)
	if _, err := Checksum(ctx, Source{Root: dir}, []string{"."}, sc2); err != nil {
		t.Fatal(err)
	}
	if sc2.reads != 0 {
		t.Errorf("the damaged record was not rewritten: %d reads", sc2.reads)
	}
}

// The root-wide record of older versions is reported for prune.
func TestStatCachesScratchLegacy(t *testing.T) {
	d := StatCaches(filepath.Join(t.TempDir(), "statcache"))
	writeT(t, string(d)+".json", "{}")
	got := d.Scratch()
	if len(got) != 1 || got[0] != string(d)+".json" {
		t.Errorf("Scratch = %v, want the legacy record", got)
	}
}

func TestStatRecordRoundTrip(t *testing.T) {
	m := map[string]string{"/a\x001:2:3:4.5:6.7": "sha256:aa", "/b": "sha256:bb", "": ""}
	b := encodeRecord(m)
	got, err := decodeRecord(b)
	if err != nil || len(got) != len(m) {
		t.Fatalf("decode = %v, %v", got, err)
	}
	for k, v := range m {
		if got[k] != v {
			t.Errorf("%q = %q, want %q", k, got[k], v)
		}
	}
	if !bytes.Equal(encodeRecord(got), b) {
		t.Error("encoding is not deterministic")
	}
	for _, bad := range [][]byte{nil, []byte("{}"), b[:len(b)-1], append(append([]byte{}, recordMagic...), 0xff)} {
		if _, err := decodeRecord(bad); err == nil {
			t.Errorf("decodeRecord(%q) accepted a damaged record", bad)
		}
	}
}
