package fileop

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

// TestChecksumStable pins Checksum's value for a tree of every entry type:
// it is part of every COPY's cache key, so a change of its encoding would
// turn every cached COPY into a miss after an upgrade.
func TestChecksumStable(t *testing.T) {
	testutil.RequireRoot(t) // fixed ownership and a fifo's mode need it
	dir := t.TempDir()
	writeT(t, filepath.Join(dir, "a b.txt"), "aaaa")
	writeT(t, filepath.Join(dir, "sub/\"q\"\tü"), "bbbb")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("../a b.txt", filepath.Join(dir, "sub/link")))
	must(unix.Mkfifo(filepath.Join(dir, "fifo"), 0o640))
	for _, p := range []string{"a b.txt", "sub", "sub/\"q\"\tü", "fifo"} {
		must(os.Chmod(filepath.Join(dir, p), map[bool]os.FileMode{true: 0o2751, false: 0o640}[p == "sub"]))
	}
	for _, p := range []string{"a b.txt", "sub", "sub/link", "fifo"} {
		must(os.Lchown(filepath.Join(dir, p), 1000, 2000))
	}
	must(os.Chmod(dir, 0o755))
	for _, tc := range []struct {
		keep bool
		want string
	}{
		{false, "sha256:a09296ab2118eb1cebb69883a26255a1aa63c1a87596f6054bac46d4da65c832"},
		{true, "sha256:df7fc54bbdb78b78fbf9ca86ec61a1da2fd602d0db1f6192952acd29a4061022"},
	} {
		got, err := Checksum(context.Background(), Source{Root: dir, KeepOwner: tc.keep}, []string{"."}, nil)
		must(err)
		if got != tc.want {
			t.Errorf("KeepOwner %v: Checksum = %s, want %s", tc.keep, got, tc.want)
		}
	}
}
