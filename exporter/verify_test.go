package exporter

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/cache"
)

// lyingLayer serves content that disagrees with what its Digest and Size say.
type lyingLayer struct {
	v1.Layer
	mangle func([]byte) []byte
}

func (l lyingLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(l.mangle(b))), nil
}

func TestWriteRejectsBadBlob(t *testing.T) {
	good := layerFromEntries(t, []tarEntry{{name: "f", typeflag: tar.TypeReg, mode: 0o644, data: []byte("payload")}})
	digest, err := good.Digest()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mangle  func([]byte) []byte
		wantMsg string
	}{
		{"flipped byte", func(b []byte) []byte {
			c := bytes.Clone(b)
			c[len(c)-1] ^= 0xff
			return c
		}, "hashes to"},
		{"short", func(b []byte) []byte { return b[:len(b)-3] }, "descriptor says"},
		{"long", func(b []byte) []byte { return append(bytes.Clone(b), 0) }, "longer than descriptor"},
	}
	writers := []struct {
		name  string
		write func(context.Context, v1.Image) error
	}{
		{"oci", func(ctx context.Context, img v1.Image) error { return WriteOCI(ctx, io.Discard, img, []string{"x"}) }},
		{"docker", func(ctx context.Context, img v1.Image) error { return WriteDocker(ctx, io.Discard, img, []string{"x"}) }},
	}
	for _, tc := range tests {
		for _, w := range writers {
			t.Run(tc.name+"/"+w.name, func(t *testing.T) {
				img := buildImage(t, nil, lyingLayer{Layer: good, mangle: tc.mangle})
				err := w.write(context.Background(), img)
				if err == nil {
					t.Fatal("export of a corrupt layer succeeded")
				}
				if !strings.Contains(err.Error(), digest.String()) || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Errorf("error %q does not name digest %s with %q", err, digest, tc.wantMsg)
				}
			})
		}
	}
}

// Layers from the content store verify themselves, so the exporter does
// not hash them again; a blob corrupted on disk must still fail the export.
func TestWriteStoreLayerVerified(t *testing.T) {
	root := t.TempDir()
	img, info := storedImage(t, root, bytes.Repeat([]byte("payload"), 1000))
	var out bytes.Buffer
	if err := WriteOCI(context.Background(), &out, img, []string{"x"}); err != nil {
		t.Fatalf("export of an intact store layer: %v", err)
	}
	if !bytes.Contains(out.Bytes(), []byte("blobs/sha256/"+info.Digest.Hex)) {
		t.Fatal("archive lacks the layer blob")
	}

	blob := filepath.Join(root, "blobs", "sha256", info.Digest.Hex)
	b, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff // same size, different content
	if err := os.Chmod(blob, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blob, b, 0o644); err != nil {
		t.Fatal(err)
	}
	err = WriteOCI(context.Background(), io.Discard, img, []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("export of a corrupted store blob: err = %v, want it to say corrupt", err)
	}
}

// storedImage is an image of one layer, a file /f holding data, written
// to a content store at root in this process (so the store vouches for
// it), and that layer.
func storedImage(t *testing.T, root string, data []byte) (v1.Image, cache.LayerInfo) {
	t.Helper()
	s, err := cache.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	raw := makeTar(t, []tarEntry{{name: "f", typeflag: tar.TypeReg, mode: 0o644, data: data}})
	info, err := s.WriteLayer(context.Background(), bytes.NewReader(raw), cache.Gzip)
	if err != nil {
		t.Fatal(err)
	}
	return buildImage(t, []string{"/f"}, s.Layer(info)), info
}
