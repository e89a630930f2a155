package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

func TestChanges(t *testing.T) {
	testutil.RequireRoot(t) // whiteouts are device nodes
	lower := testutil.WriteTree(t, t.TempDir(), map[string]string{
		"etc/passwd": "root", "etc/group": "root", "bin/sh": "sh", "old/x": "x", "dev/": "",
	})
	upper := testutil.WriteTree(t, t.TempDir(), map[string]string{
		"etc/passwd": "root\nextra", "added": "new", "newdir/f": "", "bin/": "",
		"etc/hosts": "", "proc/": "", "dev/": "", "added-2": "", // stubs, and /dev only copied up
	})
	for _, wh := range []string{"etc/group", "old"} {
		if err := unix.Mknod(filepath.Join(upper, wh), unix.S_IFCHR, 0); err != nil {
			t.Fatal(err)
		}
	}
	// A whiteout in file form (rootless snapshots) deletes as well.
	if err := os.WriteFile(filepath.Join(upper, "bin", whiteoutPrefix+"sh"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Changes(context.Background(), upper, []string{lower}, func(rel string) bool { return rel == "proc" || rel == "etc/hosts" })
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{
		{"/added", 'A'}, {"/added-2", 'A'}, {"/bin", 'C'}, {"/bin/sh", 'D'}, {"/etc", 'C'}, {"/etc/group", 'D'},
		{"/etc/passwd", 'C'}, {"/newdir", 'A'}, {"/newdir/f", 'A'}, {"/old", 'D'},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Changes (-want +got):\n%s", d)
	}
}
