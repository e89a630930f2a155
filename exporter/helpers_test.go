package exporter

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/lade-build/lade/internal/testutil"
)

// tarEntry is a file or directory of a test layer or of an exported archive.
type tarEntry struct {
	name     string
	typeflag byte
	linkname string
	mode     int64
	data     []byte
}

// makeTar builds an uncompressed tar from entries.
func makeTar(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typeflag, Linkname: e.linkname, Mode: e.mode, Size: int64(len(e.data))}
		if e.typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil && hdr.Size > 0 {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// layerFromEntries makes a gzip-compressed layer from a tar the test builds.
func layerFromEntries(t *testing.T, entries []tarEntry) v1.Layer {
	t.Helper()
	raw := makeTar(t, entries)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// buildImage appends layers to an empty image and sets a linux/amd64 config.
func buildImage(t *testing.T, cmd []string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return testutil.EditConfig(t, img, func(cf *v1.ConfigFile) {
		cf.OS = "linux"
		cf.Architecture = "amd64"
		cf.Config.Cmd = cmd
	})
}

// readTar returns every header of an archive with the bytes of its entry.
func readTar(t *testing.T, data []byte) ([]*tar.Header, map[string][]byte) {
	t.Helper()
	var hdrs []*tar.Header
	files := map[string][]byte{}
	testutil.EachTarEntry(t, data, func(hdr *tar.Header, body []byte) {
		hdrs = append(hdrs, hdr)
		files[hdr.Name] = body
	})
	return hdrs, files
}

// extractTar writes an archive's entries under dir.
func extractTar(t *testing.T, data []byte, dir string) {
	t.Helper()
	hdrs, files := readTar(t, data)
	for _, h := range hdrs {
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.WriteFile(p, files[h.Name], 0o644); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("unexpected entry type %q for %s", h.Typeflag, h.Name)
		}
	}
}

// exportTwice writes img with write twice and returns the output,
// failing the test unless both are the same bytes.
func exportTwice(t *testing.T, write func(context.Context, io.Writer, v1.Image, []string) error, img v1.Image, names []string) []byte {
	t.Helper()
	var buf, again bytes.Buffer
	if err := write(context.Background(), &buf, img, names); err != nil {
		t.Fatalf("export: %v", err)
	}
	if err := write(context.Background(), &again, img, names); err != nil {
		t.Fatalf("second export: %v", err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two exports of the same image differ")
	}
	return buf.Bytes()
}
