package snapshot

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

// A chain may hold the same layer twice (f=a, then f=b, then f=a again):
// overlay refuses a repeated lower dir, so only the top-most occurrence is
// mounted, and the merged view must be the one the whole chain gives.
func TestPrepareRepeatedLayer(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	s := newStore(t, t.TempDir())
	layers := [][]byte{
		buildTar(t, dir("d/", 0o755), file("d/f", "a")),
		buildTar(t, dir("d/", 0o755), file("d/f", "b")),
		buildTar(t, dir("d/", 0o755), file("d/.wh.f", "")),
	}
	var ids []v1.Hash
	for _, l := range layers {
		id := digest(l)
		if err := s.Unpack(ctx, id, bytes.NewReader(l)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	a, b, del := ids[0], ids[1], ids[2]
	for _, tc := range []struct {
		name  string
		chain []v1.Hash
		want  string // "" for no d/f
	}{
		{"aba", []v1.Hash{a, b, a}, "a"},
		{"ababa", []v1.Hash{a, b, a, b, a}, "a"},
		{"a-deleted-a", []v1.Hash{a, del, a}, "a"},
		{"a-deleted-a-deleted", []v1.Hash{a, del, a, del}, ""},
		{"b-a-a", []v1.Hash{b, a, a}, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			act, err := s.Prepare(ctx, tc.chain)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Remove(act)
			if err := act.Mount(); err != nil {
				t.Fatalf("mount with a repeated layer: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(act.Merged, "d/f"))
			switch {
			case tc.want == "" && !errors.Is(err, os.ErrNotExist):
				t.Errorf("d/f = %q, %v; want it deleted", got, err)
			case tc.want != "" && (err != nil || string(got) != tc.want):
				t.Errorf("d/f = %q, %v; want the topmost layer's %q", got, err, tc.want)
			}
		})
	}
}

// A mount that fails (a lower dir missing) leaves nothing behind, and the
// same target and dirs mount fine once the lower is there.
func TestMountOverlayRetry(t *testing.T) {
	testutil.RequireRoot(t)
	d := t.TempDir()
	for _, n := range []string{"l1", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(d, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFileT(t, filepath.Join(d, "l1", "f"), "x")
	p := func(n string) string { return filepath.Join(d, n) }
	o := Overlay{Lowers: []string{p("l2"), p("l1"), p("l1")}, Upper: p("upper"), Work: p("work"), Volatile: true}
	merged := p("merged")
	if err := MountOverlay(merged, o); err == nil {
		unix.Unmount(merged, unix.MNT_DETACH)
		t.Fatal("mount with a missing lower succeeded")
	}
	if isMount(t, merged) {
		t.Fatal("failed mount left a mount behind")
	}
	if err := os.Mkdir(p("l2"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := MountOverlay(merged, o); err != nil {
		t.Fatalf("retry: %v", err)
	}
	defer unix.Unmount(merged, unix.MNT_DETACH)
	if got, err := os.ReadFile(filepath.Join(merged, "f")); err != nil || string(got) != "x" {
		t.Fatalf("f = %q, %v", got, err)
	}
}

func isMount(t *testing.T, p string) bool {
	t.Helper()
	var a, b unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, p, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &a); err != nil {
		t.Fatal(err)
	}
	if err := unix.Statx(unix.AT_FDCWD, filepath.Dir(p), unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &b); err != nil {
		t.Fatal(err)
	}
	return a.Mnt_id != b.Mnt_id
}
