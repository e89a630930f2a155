package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/klauspost/compress/zstd"

	"github.com/lade-build/lade/internal/testutil"
)

// rootfsTar is a tiny root filesystem tarball.
func rootfsTar(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Unix(1600000000, 0)
	entries := []struct {
		hdr  tar.Header
		body string
	}{
		{tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mt}, ""},
		{tar.Header{Name: "bin/sh", Typeflag: tar.TypeReg, Mode: 0o755, ModTime: mt}, "#!fake shell\n"},
		{tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mt}, ""},
		{tar.Header{Name: "etc/os-release", Typeflag: tar.TypeReg, Mode: 0o644, ModTime: mt}, "ID=lade\n"},
		{tar.Header{Name: "bin/ash", Typeflag: tar.TypeSymlink, Linkname: "sh", ModTime: mt}, ""},
	}
	for _, e := range entries {
		e.hdr.Size = int64(len(e.body))
		if err := tw.WriteHeader(&e.hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// compressWith compresses b with the named tool; bzip2 and xz need their
// command-line programs since Go has no encoders for them.
func compressWith(t *testing.T, kind string, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	switch kind {
	case "plain":
		return b
	case "gzip":
		zw := gzip.NewWriter(&out)
		zw.Write(b)
		zw.Close()
	case "zstd":
		zw, _ := zstd.NewWriter(&out)
		zw.Write(b)
		zw.Close()
	case "bzip2", "xz":
		if _, err := exec.LookPath(kind); err != nil {
			t.Skipf("%s not installed", kind)
		}
		cmd := exec.Command(kind, "-c")
		cmd.Stdin, cmd.Stdout = bytes.NewReader(b), &out
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	in := rootfsTar(t)
	created := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, kind := range []string{"plain", "gzip", "zstd", "bzip2", "xz"} {
		t.Run(kind, func(t *testing.T) {
			s, _ := newStore(t)
			img, err := s.Import(ctx, bytes.NewReader(compressWith(t, kind, in)), "rootfs:"+kind, ImportOptions{Created: created})
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(img); err != nil {
				t.Fatal(err)
			}
			layers, err := img.Layers()
			if err != nil || len(layers) != 1 {
				t.Fatalf("layers: %d, %v", len(layers), err)
			}
			if got := testutil.ReadAll(t, layers[0].Uncompressed); !bytes.Equal(got, in) {
				t.Fatal("layer content differs from the imported tar")
			}

			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			diffID, _ := layers[0].DiffID()
			want := &v1.ConfigFile{
				Created:      v1.Time{Time: created},
				OS:           "linux",
				Architecture: "amd64",
				Config:       v1.Config{Env: []string{defaultPath}},
				RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{diffID}},
				History:      []v1.History{{Created: v1.Time{Time: created}, Comment: "imported from tarball"}},
			}
			if diff := cmp.Diff(want, cfg); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if diffID != digestOf(in) {
				t.Errorf("diff id %s, want sha256 of the tar %s", diffID, digestOf(in))
			}
			tagged, err := s.Get(ctx, "rootfs:"+kind)
			if err != nil {
				t.Fatal(err)
			}
			if testutil.ImageDigest(t, tagged) != testutil.ImageDigest(t, img) {
				t.Error("tagged digest differs from returned image")
			}
		})
	}
}

func TestImportUntaggedAndDeterministic(t *testing.T) {
	ctx := context.Background()
	in := compressWith(t, "gzip", rootfsTar(t))
	s, _ := newStore(t)
	a, err := s.Import(ctx, bytes.NewReader(in), "", ImportOptions{Created: time.Unix(5, 0)})
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := newStore(t)
	b, err := s2.Import(ctx, bytes.NewReader(in), "other", ImportOptions{Created: time.Unix(5, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if testutil.ImageDigest(t, a) != testutil.ImageDigest(t, b) {
		t.Error("importing the same tarball twice gave different digests")
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || len(list[0].Names) != 0 || list[0].Digest != testutil.ImageDigest(t, a) {
		t.Errorf("List after untagged import: %+v", list)
	}
}

func TestImportErrors(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	tests := []struct {
		name, ref string
		data      []byte
		contains  string
	}{
		{"empty", "x", nil, "empty tarball"},
		{"bad name", "Bad Name", rootfsTar(t), "invalid reference format"},
		{"broken gzip", "x", []byte{0x1f, 0x8b, 1, 2, 3}, "gzip"},
	}
	for _, tt := range tests {
		_, err := s.Import(ctx, bytes.NewReader(tt.data), tt.ref, ImportOptions{Created: time.Unix(0, 0)})
		if err == nil || !strings.Contains(err.Error(), tt.contains) {
			t.Errorf("%s: err %v, want it to mention %q", tt.name, err, tt.contains)
		}
	}
	if list, _ := s.List(ctx); len(list) != 0 {
		t.Errorf("failed imports listed: %+v", list)
	}
}

func TestLoadLayout(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	full := randomImage(t, 1, time.Unix(1, 0))
	bare := randomImage(t, 2, time.Unix(2, 0))
	plain := randomImage(t, 1, time.Unix(3, 0))
	adds := []struct {
		img v1.Image
		ann map[string]string
	}{
		{full, map[string]string{"org.opencontainers.image.ref.name": "example.com/base:1"}},
		{bare, map[string]string{"org.opencontainers.image.ref.name": "2.0"}},
		{plain, nil},
	}
	for _, a := range adds {
		if err := p.AppendImage(a.img, layout.WithAnnotations(a.ann)); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := newStore(t)
	loaded, err := s.LoadLayout(ctx, dir, "base")
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 3 {
		t.Fatalf("loaded %d images, want 3", len(loaded))
	}
	for i, l := range loaded {
		if want := testutil.ImageDigest(t, adds[i].img); l.Digest != want || l.ID != testutil.ImageID(t, adds[i].img) {
			t.Errorf("image %d: loaded %s (ID %s), want %s", i, l.Digest, l.ID, want)
		}
	}
	for ref, want := range map[string]v1.Image{"example.com/base:1": full, "base:2.0": bare, "base:latest": plain} {
		img, err := s.Get(ctx, ref)
		if err != nil {
			t.Fatalf("Get(%s): %v", ref, err)
		}
		if testutil.ImageDigest(t, img) != testutil.ImageDigest(t, want) {
			t.Errorf("%s: wrong image", ref)
		}
	}
	if _, err := s.LoadLayout(ctx, t.TempDir(), "x"); err == nil {
		t.Error("LoadLayout of an empty dir succeeded")
	}
}
