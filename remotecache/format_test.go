package remotecache

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/lade-build/lade/cache"
)

func openStore(t *testing.T) *cache.Store {
	t.Helper()
	s, err := cache.Open(filepath.Join(t.TempDir(), "content"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A cache image carries its records and mounts to another store, whose
// Remote fetches a layer only when asked.
func TestImageRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := openStore(t)
	layer, err := src.WriteLayer(ctx, bytes.NewReader(bytes.Repeat([]byte("x"), 4096)), cache.Gzip)
	if err != nil {
		t.Fatal(err)
	}
	recs := []cache.Record{{Key: "sha256:" + layer.DiffID.Hex, Result: cache.Result{Layer: layer}}}
	mounts := []MountRecord{{ID: "go-build", Layer: layer}}
	img, err := newImage(src, recs, mounts)
	if err != nil {
		t.Fatal(err)
	}

	dst := openStore(t)
	remote := NewRemote(dst)
	gotRecs, gotMounts, err := remote.Add(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(gotRecs) != 1 || gotRecs[0].Key != recs[0].Key || gotRecs[0].Result.Layer != layer || len(gotMounts) != 1 || gotMounts[0] != mounts[0] {
		t.Fatalf("read back %+v %+v, want %+v %+v", gotRecs, gotMounts, recs, mounts)
	}
	if dst.Has(layer.Digest) || !remote.Has(layer.Digest) {
		t.Fatal("Add copied the layer, or the remote does not list it")
	}
	if err := remote.Fetch(ctx, layer); err != nil || !dst.Has(layer.Digest) {
		t.Fatalf("Fetch: %v; stored %v", err, dst.Has(layer.Digest))
	}
}

func TestReadImageRejectsOtherImages(t *testing.T) {
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadImage(img); err == nil {
		t.Fatal("ReadImage accepted an ordinary image")
	}
	if _, err := newImage(openStore(t), []cache.Record{{Key: "k", Result: cache.Result{Layer: cache.LayerInfo{Digest: mustDigest(t, img)}}}}, nil); err == nil {
		t.Fatal("newImage packed a layer the store does not have")
	}
}

func mustDigest(t *testing.T, img interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
