package remotecache

import (
	"bytes"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/internal/rawimage"
)

// Media types of an exported build cache. The cache is an ordinary OCI
// image manifest, so any registry or OCI layout can hold it: its config
// maps cache keys to layers, and its layers are the cached layer blobs.
const (
	ArtifactType = "application/vnd.lade.cache.v1"
	ConfigType   = types.MediaType("application/vnd.lade.cache.config.v1+json")
	// maxConfig bounds what we read from a stranger's cache config.
	maxConfig = 64 << 20
)

// MountRecord is the content of one RUN --mount=type=cache directory,
// exported with cache-mounts=true, as a layer.
type MountRecord struct {
	ID    string          `json:"id"`
	Layer cache.LayerInfo `json:"layer"`
}

type config struct {
	Version int            `json:"version"`
	Records []cache.Record `json:"records"`
	Mounts  []MountRecord  `json:"mounts,omitempty"`
}

// newImage packs records into an exportable image whose layers are the
// records' layers from the content store s.
func newImage(s *cache.Store, recs []cache.Record, mounts []MountRecord) (v1.Image, error) {
	cfg, err := json.Marshal(config{Version: 1, Records: recs, Mounts: mounts})
	if err != nil {
		return nil, err
	}
	cfgHash, cfgSize, err := v1.SHA256(bytes.NewReader(cfg))
	if err != nil {
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: ConfigType, Digest: cfgHash, Size: cfgSize},
		Annotations:   map[string]string{"org.opencontainers.image.artifactType": ArtifactType},
	}
	infos := make([]cache.LayerInfo, 0, len(recs)+len(mounts))
	for _, r := range recs {
		infos = append(infos, r.Result.Layer)
	}
	for _, m := range mounts {
		infos = append(infos, m.Layer)
	}
	layers := map[v1.Hash]v1.Layer{}
	for i, li := range infos {
		if _, dup := layers[li.Digest]; dup {
			continue
		}
		if !s.Has(li.Digest) {
			return nil, fmt.Errorf("cache layer %d (%s) is not in the store", i, li.Digest)
		}
		layers[li.Digest] = s.Layer(li)
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: li.MediaType, Digest: li.Digest, Size: li.Size})
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return rawimage.New(raw, cfg, layers)
}

// ReadImage returns the records and cache mounts of an exported cache.
func ReadImage(img v1.Image) ([]cache.Record, []MountRecord, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, nil, fmt.Errorf("reading cache manifest: %w", err)
	}
	if m.Config.MediaType != ConfigType {
		return nil, nil, fmt.Errorf("not a lade build cache (config media type %q)", m.Config.MediaType)
	}
	if err := cache.CheckManifest(m, ConfigType); err != nil {
		return nil, nil, fmt.Errorf("cache manifest: %w", err)
	}
	if m.Config.Size > maxConfig {
		return nil, nil, fmt.Errorf("cache config is %d bytes, more than %d", m.Config.Size, maxConfig)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, nil, fmt.Errorf("reading cache config: %w", err)
	}
	if h, _, err := v1.SHA256(bytes.NewReader(raw)); err != nil || h != m.Config.Digest {
		return nil, nil, fmt.Errorf("cache config does not match its digest %s", m.Config.Digest)
	}
	var cfg config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, nil, fmt.Errorf("decoding cache config: %w", err)
	}
	if cfg.Version != 1 {
		return nil, nil, fmt.Errorf("cache format version %d not supported", cfg.Version)
	}
	return cfg.Records, cfg.Mounts, nil
}
