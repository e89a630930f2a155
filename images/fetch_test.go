package images

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/snapshot"
)

// TestPullUnpacks pulls with Snapshots set: every layer ends up both
// stored and unpacked, whether the root had its blob, its snapshot or
// neither before, and each snapshot holds what its layer tar holds.
func TestPullUnpacks(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	host := testutil.Registry(t, nil)
	img := randomImage(t, 4, time.Unix(1, 0))
	push(t, host+"/test/layers:v1", img)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		seed func(t *testing.T, s *Store, snaps *snapshot.Snapshotter, l v1.Layer)
	}{
		{"nothing there", nil},
		{"blob there", func(t *testing.T, s *Store, _ *snapshot.Snapshotter, l v1.Layer) {
			d, _ := l.Digest()
			size, _ := l.Size()
			rc, _ := l.Compressed()
			defer rc.Close()
			if _, _, err := s.content.Put(ctx, rc, d, size); err != nil {
				t.Fatal(err)
			}
		}},
		{"snapshot there", func(t *testing.T, _ *Store, snaps *snapshot.Snapshotter, l v1.Layer) {
			id, _ := l.DiffID()
			rc, _ := l.Uncompressed()
			defer rc.Close()
			if err := snaps.Unpack(ctx, id, rc); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := quickStore(t)
			snaps, err := snapshot.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if tt.seed != nil {
				tt.seed(t, s, snaps, layers[1])
			}
			if _, err := s.Pull(ctx, host+"/test/layers:v1", PullOptions{Snapshots: snaps}); err != nil {
				t.Fatal(err)
			}
			for i, l := range layers {
				d, _ := l.Digest()
				id, _ := l.DiffID()
				if !s.content.Has(d) {
					t.Errorf("layer %d: blob %s not stored", i, d)
				}
				if !snaps.Has(id) {
					t.Errorf("layer %d: snapshot %s not committed", i, id)
					continue
				}
				sameFiles(t, l, snaps.Path(id))
			}
		})
	}
}

// sameFiles checks every regular file of layer l's tar has its bytes
// under dir.
func sameFiles(t *testing.T, l v1.Layer, dir string) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	files := 0
	for n := 0; n < 1000; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		files++
		want, _ := io.ReadAll(tr)
		got, err := os.ReadFile(filepath.Join(dir, hdr.Name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes (%v), want the layer's %d", hdr.Name, len(got), err, len(want))
		}
	}
	if files == 0 {
		t.Error("layer has no files to compare")
	}
}
