package owned

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

// Sweep removes what dead owners left (a legacy tmpfs mounted on the dir
// included) and keeps what a live owner holds, half-made dirs that may
// still be in the making, and anything not of its prefix.
func TestSweep(t *testing.T) {
	testutil.RequireRoot(t)
	parent := t.TempDir()
	live, err := New(parent, "run-")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Remove()
	mk := func(name string, lock bool, age time.Duration) string {
		p := filepath.Join(parent, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if lock {
			f, err := Lock(p)
			if err != nil {
				t.Fatal(err)
			}
			f.Close() // its owner died
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dead := mk("run-dead", true, 0)
	legacy := mk("run-legacy", false, 0)
	if err := unix.Mount("tmpfs", legacy, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(legacy, unix.MNT_DETACH)
	if err := os.WriteFile(filepath.Join(legacy, "secret-0"), []byte("s"), 0o400); err != nil {
		t.Fatal(err)
	}
	youngNew := mk(".new-run-young", false, 0)
	oldNew := mk(".new-run-old", false, 2*staleNew)
	other := mk("ctxmount-1", false, time.Hour)

	if err := Sweep(parent, "run-"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		kept bool
	}{
		{live.Path, true}, {dead, false}, {legacy, false},
		{youngNew, true}, {oldNew, false}, {other, true},
	} {
		_, err := os.Lstat(tc.path)
		if kept := err == nil; kept != tc.kept {
			t.Errorf("%s: kept %v, want %v", filepath.Base(tc.path), kept, tc.kept)
		}
	}
	if err := live.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(live.Path); err == nil {
		t.Error("Remove left the dir")
	}
}
