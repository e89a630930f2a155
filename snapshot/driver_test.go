package snapshot

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/internal/userns"
)

func TestDriver(t *testing.T) {
	testutil.RequireRoot(t)
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := "overlayfs"
	if userns.Rootless() {
		want = "" // either: the probe decides
	}
	if got := s.Driver(); want != "" && got != want {
		t.Errorf("Driver() = %q, want %q", got, want)
	}
	t.Cleanup(func() { forceCopy = false })
	forceCopy = true
	if got := s.Driver(); got != "copy" {
		t.Errorf("Driver() copying = %q, want copy", got)
	}
	if left, _ := os.ReadDir(filepath.Join(s.root, "tmp")); len(left) != 0 {
		t.Errorf("probe left %d entries in tmp", len(left))
	}
}
