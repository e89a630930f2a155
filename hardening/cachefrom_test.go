package hardening

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestCacheFromHostile: --cache-from fetches a layer lazily, when the image
// is exported; a cache whose blob was altered, or whose config claims a
// diffID the blob does not have, fails the build naming the layer and
// stores no image, never an image whose config lies about its layers.
func TestCacheFromHostile(t *testing.T) {
	needLade(t)
	ctxDir := writeTree(t, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY a.txt /a.txt\n",
		"a.txt":      "cached\n",
	})
	cases := []struct {
		name string
		// spoil changes the cache at dir and returns what the error names.
		spoil func(t *testing.T, dir string, layer v1.Hash, diffID string) string
	}{
		{"blob altered", func(t *testing.T, dir string, layer v1.Hash, _ string) string {
			p := filepath.Join(dir, "blobs", "sha256", layer.Hex)
			flipMiddleByte(t, p)
			return layer.String()
		}},
		{"diffID lies", func(t *testing.T, dir string, layer v1.Hash, diffID string) string {
			lie := "sha256:" + strings.Repeat("ab", 32)
			rewriteCacheConfig(t, dir, func(cfg []byte) []byte {
				return bytes.ReplaceAll(cfg, []byte(diffID), []byte(lie))
			})
			return layer.String()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cache")
			wantOK(t, lade(t, newRoot(t), nil, "build", "--cache-to", "type=local,dest="+dir, ctxDir))
			layer, diffID := onlyCacheLayer(t, dir)
			want := c.spoil(t, dir, layer, diffID)

			root := newRoot(t)
			r := lade(t, root, nil, "build", "-t", "x", "--cache-from", "type=local,src="+dir, ctxDir)
			if r.code == 0 {
				// Rebuilding instead of trusting the cache is fine too, as
				// long as the layer is the real one.
				if !strings.Contains(r.stderr, "COPY a.txt") || strings.Contains(r.stderr, "CACHED") {
					t.Fatalf("build used the spoilt cache:\n%s", r.stderr)
				}
			} else {
				wantFail(t, r, want)
				out := lade(t, root, nil, "images").stdout
				for _, l := range strings.Split(out, "\n") {
					if f := strings.Fields(l); len(f) > 0 && f[0] == "x" {
						t.Errorf("a failed build stored an image:\n%s", out)
					}
				}
			}
			checkStore(t, root)
		})
	}
}

// cacheManifest finds the lade cache manifest in the OCI layout dir.
func cacheManifest(t *testing.T, dir string) (*v1.IndexManifest, *v1.Manifest) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 {
		t.Fatalf("cache layout has %d manifests, want 1", len(idx.Manifests))
	}
	var m v1.Manifest
	if err := json.Unmarshal(readBlob(t, dir, idx.Manifests[0].Digest), &m); err != nil {
		t.Fatal(err)
	}
	return &idx, &m
}

// onlyCacheLayer returns the digest of the single layer the cache holds
// and the diffID its config gives it.
func onlyCacheLayer(t *testing.T, dir string) (v1.Hash, string) {
	t.Helper()
	_, m := cacheManifest(t, dir)
	if len(m.Layers) != 1 {
		t.Fatalf("cache has %d layers, want 1", len(m.Layers))
	}
	var cfg struct {
		Records []struct {
			Result struct {
				Layer struct{ DiffID string }
			}
		}
	}
	if err := json.Unmarshal(readBlob(t, dir, m.Config.Digest), &cfg); err != nil || len(cfg.Records) != 1 {
		t.Fatalf("cache config: %v (%d records)", err, len(cfg.Records))
	}
	return m.Layers[0].Digest, cfg.Records[0].Result.Layer.DiffID
}

// rewriteCacheConfig replaces the cache config with edit's result and
// re-links manifest and index, so every digest in the layout is right.
func rewriteCacheConfig(t *testing.T, dir string, edit func([]byte) []byte) {
	t.Helper()
	idx, m := cacheManifest(t, dir)
	cfg := edit(readBlob(t, dir, m.Config.Digest))
	m.Config.Digest, m.Config.Size = writeBlob(t, dir, cfg)
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	idx.Manifests[0].Digest, idx.Manifests[0].Size = writeBlob(t, dir, raw)
	if raw, err = json.Marshal(idx); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readBlob(t *testing.T, dir string, d v1.Hash) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", d.Hex))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeBlob(t *testing.T, dir string, b []byte) (v1.Hash, int64) {
	t.Helper()
	sum := sha256.Sum256(b)
	h := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", h.Hex), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return h, int64(len(b))
}
