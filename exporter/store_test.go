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

	"github.com/lade-build/lade/cache"
)

// Layers from the content store verify themselves, so the exporter does
// not hash them again; a blob corrupted on disk must still fail the export.
func TestWriteStoreLayerVerified(t *testing.T) {
	root := t.TempDir()
	s, err := cache.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	raw := makeTar(t, []tarEntry{{name: "f", typeflag: tar.TypeReg, mode: 0o644, data: bytes.Repeat([]byte("payload"), 1000)}})
	info, err := s.WriteLayer(context.Background(), bytes.NewReader(raw), cache.Gzip)
	if err != nil {
		t.Fatal(err)
	}
	img := buildImage(t, []string{"/f"}, s.Layer(info))
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
