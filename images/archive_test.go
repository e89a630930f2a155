package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/lade-build/lade/exporter"
	"github.com/lade-build/lade/internal/testutil"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	src, _ := newStore(t)
	a := randomImage(t, 2, time.Unix(10, 0))
	b := randomImage(t, 1, time.Unix(20, 0))
	for ref, img := range map[string]v1.Image{"app:1": a, "app:2": a, "example.com/team/b:v1": b} {
		if err := src.Tag(ctx, ref, img); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.Store(ctx, randomImage(t, 1, time.Unix(30, 0))); err != nil {
		t.Fatal(err)
	}
	list, _ := src.List(ctx)
	untagged := list[0].Digest // newest

	var buf bytes.Buffer
	if err := src.Save(ctx, &buf, []string{"app:1", "example.com/team/b:v1", "app:2", untagged.Hex[:12]}, nil); err != nil {
		t.Fatal(err)
	}
	archive := buf.Bytes()

	for _, kind := range []string{"plain", "gzip", "zstd"} {
		t.Run(kind, func(t *testing.T) {
			dst, _ := newStore(t)
			loaded, err := dst.Load(ctx, bytes.NewReader(compressWith(t, kind, archive)))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, l := range loaded {
				names = append(names, l.Names...)
			}
			if got := strings.Join(names, " "); got != "app:1 app:2 example.com/team/b:v1" {
				t.Errorf("loaded names %q", got)
			}
			if len(loaded) != 3 || len(loaded[2].Names) != 0 || loaded[2].Digest != untagged {
				t.Errorf("loaded %+v", loaded)
			}
			// Digests survive: the archive's own manifests are kept.
			for ref, want := range map[string]v1.Image{"app:1": a, "app:2": a, "example.com/team/b:v1": b} {
				got, err := dst.Get(ctx, ref)
				if err != nil {
					t.Fatal(err)
				}
				wantImage(t, ref, got, testutil.ImageDigest(t, want))
			}
		})
	}
}

// legacyArchive is what docker save wrote before 25: uncompressed
// <id>/layer.tar files, <id>.json config, manifest.json, no index.json.
func legacyArchive(t *testing.T, layer []byte, diffID string) []byte {
	t.Helper()
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Cmd": []string{"/bin/sh"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	sum := sha256.Sum256(cfg)
	id := hex.EncodeToString(sum[:])
	manifest, _ := json.Marshal([]map[string]any{{
		"Config": id + ".json", "RepoTags": []string{"legacy:old"}, "Layers": []string{"abc123/layer.tar"},
	}})
	return regTar(t, "abc123/layer.tar", string(layer), id+".json", string(cfg), "manifest.json", string(manifest))
}

func TestLoadLegacyDockerArchive(t *testing.T) {
	ctx := context.Background()
	layer := rootfsTar(t)
	sum := sha256.Sum256(layer)
	diffID := "sha256:" + hex.EncodeToString(sum[:])

	s, _ := newStore(t)
	loaded, err := s.Load(ctx, bytes.NewReader(legacyArchive(t, layer, diffID)))
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || len(loaded[0].Names) != 1 || loaded[0].Names[0] != "legacy:old" {
		t.Fatalf("loaded %+v", loaded)
	}
	img, err := s.Get(ctx, "legacy:old")
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Error(err)
	}
	m, _ := img.Manifest()
	if len(m.Layers) != 1 || !strings.HasSuffix(string(m.Layers[0].MediaType), "gzip") {
		t.Errorf("layer not stored gzipped: %+v", m.Layers)
	}
	if id, _ := img.ConfigName(); id != loaded[0].ID {
		t.Errorf("ID %s, want %s", loaded[0].ID, id)
	}

	// A layer that does not match the config's diff id is refused and
	// nothing is tagged.
	bad, _ := newStore(t)
	_, err = bad.Load(ctx, bytes.NewReader(legacyArchive(t, layer, "sha256:"+strings.Repeat("0", 64))))
	if err == nil || !strings.Contains(err.Error(), "diff id") {
		t.Fatalf("load of mismatched layer: %v", err)
	}
	if list, _ := bad.List(ctx); len(list) != 0 {
		t.Errorf("failed load left %d images", len(list))
	}
	leftovers(t, bad.root)
}

func TestLoadOCILayoutTar(t *testing.T) {
	ctx := context.Background()
	img := randomImage(t, 2, time.Unix(1, 0))
	var buf bytes.Buffer
	if err := exporter.WriteOCI(ctx, &buf, img, []string{"registry.example/x/oci:7"}); err != nil {
		t.Fatal(err)
	}
	s, _ := newStore(t)
	loaded, err := s.Load(ctx, bytes.NewReader(compressWith(t, "gzip", buf.Bytes())))
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || loaded[0].Digest != testutil.ImageDigest(t, img) || strings.Join(loaded[0].Names, ",") != "registry.example/x/oci:7" {
		t.Fatalf("loaded %+v", loaded)
	}
	if _, err := s.Get(ctx, "registry.example/x/oci:7"); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"not an archive", regTar(t, "hello.txt", "hi"), "neither manifest.json nor index.json"},
		{"escaping path", regTar(t, "../../escape", "hi"), "neither manifest.json nor index.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			_, err := s.Load(context.Background(), bytes.NewReader(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want error containing %q", err, tt.want)
			}
			leftovers(t, s.root)
		})
	}
}
