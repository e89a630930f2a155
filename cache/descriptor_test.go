package cache

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestCheckManifest(t *testing.T) {
	h := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
	good := func() *v1.Manifest {
		return &v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
			Config: v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: h, Size: 10},
			Layers: []v1.Descriptor{{MediaType: types.OCILayer, Digest: h, Size: 0}}}
	}
	tests := []struct {
		name string
		edit func(m *v1.Manifest)
		cfg  []types.MediaType
		want string // "" for accepted
	}{
		{"good", func(*v1.Manifest) {}, ImageConfigTypes, ""},
		{"no manifest media type", func(m *v1.Manifest) { m.MediaType = "" }, ImageConfigTypes, ""},
		{"index as manifest", func(m *v1.Manifest) { m.MediaType = types.OCIImageIndex }, ImageConfigTypes, "unsupported media type"},
		{"negative layer", func(m *v1.Manifest) { m.Layers[0].Size = -1 }, ImageConfigTypes, "layer 1: negative size"},
		{"negative config", func(m *v1.Manifest) { m.Config.Size = -1 }, ImageConfigTypes, "config: negative size"},
		{"no digest", func(m *v1.Manifest) { m.Layers[0].Digest = v1.Hash{} }, ImageConfigTypes, "invalid digest"},
		{"short digest", func(m *v1.Manifest) { m.Config.Digest.Hex = "abc" }, ImageConfigTypes, "invalid digest"},
		{"other algorithm", func(m *v1.Manifest) { m.Config.Digest.Algorithm = "sha512" }, ImageConfigTypes, "invalid digest"},
		{"upper-case hex", func(m *v1.Manifest) { m.Config.Digest.Hex = strings.Repeat("A", 64) }, ImageConfigTypes, "invalid digest"},
		{"config as layer", func(m *v1.Manifest) { m.Layers[0].MediaType = types.OCIConfigJSON }, ImageConfigTypes, "does not belong"},
		{"layer as config", func(m *v1.Manifest) { m.Config.MediaType = types.OCILayer }, ImageConfigTypes, "does not belong"},
		{"cache config", func(m *v1.Manifest) { m.Config.MediaType = cacheConfigType }, []types.MediaType{cacheConfigType}, ""},
		{"image config where a cache is read", func(*v1.Manifest) {}, []types.MediaType{cacheConfigType}, "does not belong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good()
			tt.edit(m)
			err := CheckManifest(m, tt.cfg...)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
	idx := &v1.IndexManifest{Manifests: []v1.Descriptor{{Digest: h, Size: -5}}}
	if err := CheckIndex(idx); err == nil || !strings.Contains(err.Error(), "index entry 1: negative size") {
		t.Errorf("CheckIndex: %v", err)
	}
}

// cacheConfigType is the config media type of remotecache's format.
const cacheConfigType = types.MediaType("application/vnd.lade.cache.config.v1+json")
