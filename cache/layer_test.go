package cache

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lade-build/lade/internal/testutil"
)

// layerTar builds an uncompressed layer tar; big spans several gzip blocks
// and, compressed or not, more than one writeback chunk.
func layerTar(t *testing.T, big bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	rnd := rand.New(rand.NewSource(1))
	files := map[string][]byte{
		"etc/hostname": []byte("lade\n"),
		"bin/tool":     bytes.Repeat([]byte("binary?"), 5000),
	}
	if big {
		noise := make([]byte, writebackChunk+(2<<20))
		rnd.Read(noise)
		files["var/noise"] = noise
	}
	mt := time.Unix(1700000000, 0)
	for _, n := range []string{"bin/tool", "etc/hostname", "var/noise"} {
		b, ok := files[n]
		if !ok {
			continue
		}
		hdr := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(b)), ModTime: mt, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteLayer(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		c    Compression
		mt   types.MediaType
		big  bool
		same bool // Digest == DiffID
	}{
		{"", "application/vnd.oci.image.layer.v1.tar+gzip", false, false},
		{Gzip, "application/vnd.oci.image.layer.v1.tar+gzip", true, false},
		{Zstd, "application/vnd.oci.image.layer.v1.tar+zstd", true, false},
		{Uncompressed, "application/vnd.oci.image.layer.v1.tar", false, true},
		{Uncompressed, "application/vnd.oci.image.layer.v1.tar", true, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/big=%v", tt.c, tt.big), func(t *testing.T) {
			in := layerTar(t, tt.big)
			s := newStore(t)
			info, err := s.WriteLayer(ctx, bytes.NewReader(in), tt.c)
			if err != nil {
				t.Fatal(err)
			}
			blob := readAll(t, s, info.Digest)
			want := LayerInfo{Digest: digestOf(blob), DiffID: digestOf(in), Size: int64(len(blob)), MediaType: tt.mt}
			if diff := cmp.Diff(want, info); diff != "" {
				t.Errorf("LayerInfo (-want +got):\n%s", diff)
			}
			if (info.Digest == info.DiffID) != tt.same {
				t.Errorf("Digest == DiffID is %v", info.Digest == info.DiffID)
			}

			// Deterministic: a second store gets byte-identical blobs.
			again, err := newStore(t).WriteLayer(ctx, chunked(in), tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(info, again); diff != "" {
				t.Errorf("second WriteLayer differs (-first +second):\n%s", diff)
			}

			l := s.Layer(info)
			checkLayerMeta(t, l, info)
			if got := testutil.ReadAll(t, l.Uncompressed); !bytes.Equal(got, in) {
				t.Fatalf("Uncompressed() returned %d bytes differing from the %d written", len(got), len(in))
			}
			if got := testutil.ReadAll(t, l.Compressed); !bytes.Equal(got, blob) {
				t.Fatalf("Compressed() = %d bytes, want the %d stored", len(got), len(blob))
			}
		})
	}
}

func TestWriteLayerGzipHeader(t *testing.T) {
	s := newStore(t)
	info, err := s.WriteLayer(context.Background(), bytes.NewReader(layerTar(t, false)), Gzip)
	if err != nil {
		t.Fatal(err)
	}
	hdr := readAll(t, s, info.Digest)[:10]
	// magic, deflate, no flags (so no name), mtime 0, xfl, OS unknown.
	want := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}
	if diff := cmp.Diff(want, hdr); diff != "" {
		t.Errorf("gzip header (-want +got):\n%s", diff)
	}
}

func TestWriteLayerUnknownCompression(t *testing.T) {
	s := newStore(t)
	if _, err := s.WriteLayer(context.Background(), strings.NewReader(""), "lz4"); err == nil {
		t.Fatal("WriteLayer accepted lz4")
	}
}

func TestWriteLayerReadError(t *testing.T) {
	s := newStore(t)
	boom := errors.New("boom")
	r := io.MultiReader(bytes.NewReader(layerTar(t, false)), errReader{boom})
	if _, err := s.WriteLayer(context.Background(), r, Gzip); !errors.Is(err, boom) {
		t.Fatalf("WriteLayer: %v, want boom", err)
	}
	if got := walkAll(t, s); len(got) != 0 {
		t.Fatalf("blobs after failed WriteLayer: %v", got)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestLayerDetectsCorruptBlob(t *testing.T) {
	s := newStore(t)
	info, err := s.WriteLayer(context.Background(), bytes.NewReader(layerTar(t, false)), Uncompressed)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(s.blobs, info.Digest.Hex)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[600] ^= 1
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Layer(info).Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), info.Digest.String()) {
		t.Fatalf("reading corrupt layer: %v", err)
	}
}

// TestLayerDockerMediaType checks decompression by docker media type and
// by sniffing when the media type says nothing.
func TestLayerDockerMediaType(t *testing.T) {
	ctx := context.Background()
	in := layerTar(t, false)
	s := newStore(t)
	info, err := s.WriteLayer(ctx, bytes.NewReader(in), Gzip)
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range []types.MediaType{types.DockerLayer, "application/octet-stream"} {
		info.MediaType = mt
		if got := testutil.LayerBytes(t, s.Layer(info)); !bytes.Equal(got, in) {
			t.Errorf("%s: Uncompressed = %d bytes, want %d", mt, len(got), len(in))
		}
	}
}

func checkLayerMeta(t *testing.T, l v1.Layer, info LayerInfo) {
	t.Helper()
	d, _ := l.Digest()
	diff, _ := l.DiffID()
	size, _ := l.Size()
	mt, _ := l.MediaType()
	got := LayerInfo{Digest: d, DiffID: diff, Size: size, MediaType: mt}
	if d := cmp.Diff(info, got); d != "" {
		t.Errorf("layer metadata (-want +got):\n%s", d)
	}
}

// chunked returns b in odd-sized chunks so block boundaries
// cannot depend on how the caller happens to read.
func chunked(b []byte) io.Reader {
	return &chunkReader{b: b, n: 7777}
}

type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.n, len(c.b))
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

// TestWriteLayerKeepsExistingBlob: writing a layer that is stored already
// keeps the stored file (same inode, no rename over it) and leaves no temp
// file behind once Wait returns.
func TestWriteLayerKeepsExistingBlob(t *testing.T) {
	s := newStore(t)
	data := layerTar(t, true)
	first, err := s.WriteLayer(context.Background(), bytes.NewReader(data), Gzip)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.path(first.Digest)
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.WriteLayer(context.Background(), bytes.NewReader(data), Gzip)
	if err != nil {
		t.Fatal(err)
	}
	s.Wait()
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second write of the same layer (-first +second):\n%s", diff)
	}
	after, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the stored blob was replaced, not kept")
	}
	if ents, _ := os.ReadDir(s.ingest); len(ents) != 0 {
		t.Errorf("ingest holds %d files after Wait: %v", len(ents), ents)
	}
	// A same-named blob of another size is no duplicate: it is replaced.
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("truncated"), 0o444); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteLayer(context.Background(), bytes.NewReader(data), Gzip); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Size() != first.Size {
		t.Errorf("short blob not replaced: %d bytes, want %d", fi.Size(), first.Size)
	}
	rc, err := s.Layer(first).Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Errorf("re-stored blob does not verify: %v", err)
	}
}
