package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lade-build/lade/internal/testutil"
)

// The copying fallback shows the tree overlayfs shows and gives the layer
// overlayfs gives, byte for byte, for the changes a RUN step makes.
func TestCopyMatchesOverlay(t *testing.T) {
	testutil.RequireRoot(t)
	s := newStore(t, filepath.Join(t.TempDir(), "snapshots"))
	base := mustUnpack(t, s, baseLayer(t))
	second := mustUnpack(t, s, buildTar(t,
		file("data/.wh.keep", ""),
		dir("data/untouched/", 0o755),
		file("data/untouched/.wh..wh..opq", ""),
		file("data/untouched/h", "h"),
		file("data/links/a", "linked"),
		hardlink("data/links/b", "data/links/a"),
		ent{name: "data/owned", typ: tar.TypeReg, body: "o", mode: 0o4755, uid: 1000},
	))
	in := func(m, p string) string { return filepath.Join(m, p) }
	tests := []struct {
		name string
		run  func(m string) error
	}{
		{"nothing", func(m string) error { return nil }},
		{"new and changed files", func(m string) error {
			if err := os.WriteFile(in(m, "data/replace"), []byte("new"), 0o644); err != nil {
				return err
			}
			return os.WriteFile(in(m, "data/new"), []byte("n"), 0o600)
		}},
		{"chown chmod setuid", func(m string) error {
			if err := os.Chown(in(m, "data/untouched/h"), 1000, 1000); err != nil {
				return err
			}
			if err := os.Chmod(in(m, "data/chmoddir"), 0o700); err != nil {
				return err
			}
			return os.Chmod(in(m, "data/chmoddir/f"), 0o4755)
		}},
		{"deletions", func(m string) error {
			if err := os.Remove(in(m, "data/del")); err != nil {
				return err
			}
			return os.RemoveAll(in(m, "data/untouched"))
		}},
		{"opaque dir", func(m string) error {
			if err := os.RemoveAll(in(m, "data/opaque")); err != nil {
				return err
			}
			if err := os.Mkdir(in(m, "data/opaque"), 0o755); err != nil {
				return err
			}
			return os.WriteFile(in(m, "data/opaque/d"), []byte("d"), 0o644)
		}},
		{"hardlinks", func(m string) error {
			if err := os.Link(in(m, "data/replace"), in(m, "data/replace2")); err != nil {
				return err
			}
			if err := os.WriteFile(in(m, "data/n1"), []byte("n"), 0o644); err != nil {
				return err
			}
			return os.Link(in(m, "data/n1"), in(m, "data/n2"))
		}},
		{"file becomes dir", func(m string) error {
			if err := os.Remove(in(m, "data/replace")); err != nil {
				return err
			}
			return os.MkdirAll(in(m, "data/replace/x"), 0o755)
		}},
	}
	t.Cleanup(func() { forceCopy = false })
	epoch := time.Unix(0, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var trees [2]map[string]string
			var layers [2][]byte
			for i, copying := range []bool{false, true} {
				forceCopy = copying
				a := mustMount(t, s, base, second)
				trees[i] = tree(t, a.Merged)
				if err := tt.run(a.Merged); err != nil {
					t.Fatal(err)
				}
				if err := a.Unmount(); err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if _, err := Diff(context.Background(), a.Upper, a.Lowers, &buf, DiffOptions{SourceDateEpoch: &epoch}); err != nil {
					t.Fatal(err)
				}
				layers[i] = buf.Bytes()
			}
			if diff := cmp.Diff(trees[0], trees[1]); diff != "" {
				t.Errorf("copied tree differs from the overlay (-overlay +copy):\n%s", diff)
			}
			if !bytes.Equal(layers[0], layers[1]) {
				t.Errorf("copied layer differs from the overlay's (-overlay +copy):\n%s", cmp.Diff(readTar(t, layers[0]), readTar(t, layers[1])))
			}
		})
	}
}
