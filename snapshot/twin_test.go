package snapshot

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/internal/testutil"
)

// A chain may hold the same layer twice (f=a, then f=b, then f=a again):
// overlay refuses a repeated lower dir, so the repeat is served by a twin,
// and the merged view must still show the topmost occurrence.
func TestPrepareRepeatedLayer(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := buildTar(t, dir("d/", 0o755), file("d/f", "a"))
	b := buildTar(t, dir("d/", 0o755), file("d/f", "b"))
	var ids []v1.Hash
	for _, l := range [][]byte{a, b} {
		id := digest(l)
		if err := s.Unpack(ctx, id, bytes.NewReader(l)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, chain := range [][]v1.Hash{{ids[0], ids[1], ids[0]}, {ids[0], ids[1], ids[0], ids[1], ids[0]}} {
		act, err := s.Prepare(ctx, chain)
		if err != nil {
			t.Fatal(err)
		}
		if err := act.Mount(); err != nil {
			t.Fatalf("mount with a repeated layer: %v", err)
		}
		got, err := os.ReadFile(filepath.Join(act.Merged, "d/f"))
		if err != nil || string(got) != "a" {
			t.Errorf("d/f = %q, %v; want the topmost layer's \"a\"", got, err)
		}
		if err := s.Remove(act); err != nil {
			t.Fatal(err)
		}
	}
}
