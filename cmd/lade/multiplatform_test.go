package main

import (
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/internal/testroot"
)

// childBlobs are the layer blobs of idx's image for arch.
func childBlobs(t *testing.T, idx v1.ImageIndex, arch string) []v1.Hash {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range im.Manifests {
		if m.Platform == nil || m.Platform.Architecture != arch {
			continue
		}
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		mf, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		out := []v1.Hash{m.Digest, mf.Config.Digest}
		for _, l := range mf.Layers {
			out = append(out, l.Digest)
		}
		return out
	}
	t.Fatalf("no %s image in the index", arch)
	return nil
}

// GC keeps every platform's blobs of a stored index, not only the host's.
func TestPruneKeepsIndexChildren(t *testing.T) {
	root := newRoot(t)
	idx := testroot.SeedBusyboxMulti(t, root, "multi:latest")
	if r := lade(t, root, "", "cache", "prune", "-f", "--all"); r.code != 0 {
		t.Fatalf("prune: %s", r.stderr)
	}
	d, _ := idx.Digest()
	for _, b := range append(childBlobs(t, idx, "arm64"), d) {
		if _, err := os.Stat(filepath.Join(root, "content", "blobs", b.Algorithm, b.Hex)); err != nil {
			t.Errorf("blob %s of the index's arm64 image: %v", b, err)
		}
	}
}
