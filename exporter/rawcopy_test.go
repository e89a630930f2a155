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

	"github.com/lade-build/lade/internal/testutil"
)

// storedLayer serves its blob as the content store serves one it vouches
// for: a file (StoredFile), counting the reads that go through Read.
type storedLayer struct {
	v1.Layer
	file  string // what StoredFile opens
	reads *int
}

type storedReader struct {
	f     *os.File
	l     storedLayer
	reads *int
}

func (r *storedReader) Read(p []byte) (int, error) { *r.reads++; return r.f.Read(p) }
func (r *storedReader) Close() error               { return r.f.Close() }
func (r *storedReader) StoredFile() *os.File       { return r.f }
func (r *storedReader) Verifies() (v1.Hash, int64) {
	d, _ := r.l.Digest()
	size, _ := r.l.Size()
	return d, size
}

func (l storedLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.file)
	if err != nil {
		return nil, err
	}
	return &storedReader{f: f, l: l, reads: l.reads}, nil
}

// exportToFile writes img with write into a fresh file and returns its bytes.
func exportToFile(t *testing.T, write func(context.Context, io.Writer, v1.Image, []string) error, img v1.Image) ([]byte, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "out.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	werr := write(context.Background(), f, img, []string{"x"})
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b, werr
}

// A blob the store vouches for goes into an archive file by the kernel's
// copy, not through Read, and the archive is byte for byte the one the
// stream path writes; a stored file of the wrong size still fails.
func TestWriteToFileCopiesStoredBlobs(t *testing.T) {
	good := layerFromEntries(t, []tarEntry{{name: "f", typeflag: tar.TypeReg, mode: 0o644, data: bytes.Repeat([]byte("payload"), 300)}})
	rc, err := good.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	blob, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	writers := []struct {
		name  string
		write func(context.Context, io.Writer, v1.Image, []string) error
	}{{"oci", WriteOCI}, {"docker", WriteDocker}}
	for _, tc := range []struct {
		name    string
		content []byte
		wantErr string
	}{
		{"intact", blob, ""},
		{"short", blob[:len(blob)-3], "descriptor says"},
		{"long", append(bytes.Clone(blob), 0), "longer than descriptor"},
	} {
		for _, w := range writers {
			t.Run(tc.name+"/"+w.name, func(t *testing.T) {
				file := filepath.Join(t.TempDir(), "blob")
				if err := os.WriteFile(file, tc.content, 0o644); err != nil {
					t.Fatal(err)
				}
				reads := 0
				img := buildImage(t, nil, storedLayer{Layer: good, file: file, reads: &reads})
				got, err := exportToFile(t, w.write, img)
				if testutil.ErrCase(t, err, tc.wantErr) {
					return
				}
				if reads > 0 {
					t.Errorf("the stored blob was read %d times through Read, want a kernel copy", reads)
				}
				var want bytes.Buffer
				if err := w.write(context.Background(), &want, buildImage(t, nil, good), []string{"x"}); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want.Bytes()) {
					t.Errorf("archive file (%d bytes) differs from the streamed archive (%d bytes)", len(got), want.Len())
				}
			})
		}
	}
}

// A layer just written to the content store takes the kernel copy too,
// and the archive reads back whole.
func TestWriteStoreLayerToFile(t *testing.T) {
	img, _ := storedImage(t, t.TempDir(), bytes.Repeat([]byte("payload"), 100000))
	got, err := exportToFile(t, WriteOCI, img)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := WriteOCI(context.Background(), &want, img, []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("archive file (%d bytes) differs from the streamed archive (%d bytes)", len(got), want.Len())
	}
	dir := t.TempDir()
	extractTar(t, got, dir)
	checkLayout(t, dir, img, [][2]string{{"docker.io/library/x:latest", "latest"}})
}
