package solver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// finalImage assembles the OCI manifest and config for a stage's result.
func (bd *build) finalImage(st *stageState) (v1.Image, error) {
	img := st.img
	img.History = fillHistoryTimes(img.History, st.baseHist, bd.o.SourceDateEpoch)
	// The image is as old as its newest history entry, as in BuildKit, so a
	// fully cached rebuild gives the same image.
	var created *time.Time
	for _, h := range img.History {
		if h.Created != nil {
			created = h.Created
		}
	}
	if created == nil || (bd.o.SourceDateEpoch != nil && created.After(*bd.o.SourceDateEpoch)) {
		t := bd.createdTime()
		created = &t
	}
	img.Created = created
	if img.OS == "" {
		img.OS, img.Architecture = bd.o.Platform.OS, bd.o.Platform.Architecture
	}
	img.RootFS.Type = "layers"
	img.RootFS.DiffIDs = img.RootFS.DiffIDs[:0:0]
	for _, d := range st.diffIDs {
		img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, digestOf(d))
	}
	return newImage(img, st.layers)
}

// newImage builds a v1.Image with OCI media types from a config (any JSON
// marshalable value, normally a docker-image-spec image) and its layers.
// Docker layer media types are mapped to their OCI twins: the bytes are the
// same, only the name differs.
func newImage(config any, layers []v1.Layer) (v1.Image, error) {
	rawCfg, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("encoding image config: %w", err)
	}
	cfgHash, cfgSize, err := v1.SHA256(bytes.NewReader(rawCfg))
	if err != nil {
		return nil, err
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageConfig,
			Digest:    digestOf(cfgHash),
			Size:      cfgSize,
		},
		Layers: []ocispec.Descriptor{},
	}
	byDigest := map[v1.Hash]v1.Layer{}
	for i, l := range layers {
		d, err := partial.Descriptor(l)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: string(ociLayerType(d.MediaType)), Digest: digestOf(d.Digest), Size: d.Size})
		byDigest[d.Digest] = l
	}
	rawManifest, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(&builtImage{config: rawCfg, manifest: rawManifest, layers: byDigest})
}

func ociLayerType(mt types.MediaType) types.MediaType {
	switch mt {
	case types.DockerLayer:
		return types.OCILayer
	case types.DockerUncompressedLayer:
		return types.OCIUncompressedLayer
	case types.DockerForeignLayer:
		return types.OCIRestrictedLayer
	}
	return mt
}

type builtImage struct {
	config, manifest []byte
	layers           map[v1.Hash]v1.Layer
}

func (b *builtImage) RawConfigFile() ([]byte, error) { return b.config, nil }
func (b *builtImage) RawManifest() ([]byte, error)   { return b.manifest, nil }
func (b *builtImage) MediaType() (types.MediaType, error) {
	return types.OCIManifestSchema1, nil
}

func (b *builtImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := b.layers[h]; ok {
		return ociTyped{l}, nil
	}
	return nil, fmt.Errorf("layer %s not found", h)
}

// ociTyped reports the OCI media type for a layer stored with a docker one.
type ociTyped struct{ v1.Layer }

func (o ociTyped) MediaType() (types.MediaType, error) {
	mt, err := o.Layer.MediaType()
	return ociLayerType(mt), err
}

// fillHistoryTimes gives metadata entries (no time of their own) the time
// of the first new layer, or of the layer before them, as BuildKit does;
// with SOURCE_DATE_EPOCH every entry after the base image's is clamped.
func fillHistoryTimes(hist []ocispec.History, base int, epoch *time.Time) []ocispec.History {
	out := append([]ocispec.History(nil), hist...)
	var created *time.Time
	missing := false
	for _, h := range out {
		if h.Created != nil {
			created = h.Created
			if missing {
				break
			}
		} else {
			missing = true
		}
	}
	missing = false
	for i := range out {
		if out[i].Created != nil {
			if missing {
				created = out[i].Created
			}
			continue
		}
		missing = true
		out[i].Created = created
	}
	if epoch != nil {
		for i := base; i < len(out); i++ {
			if out[i].Created == nil || out[i].Created.After(*epoch) {
				e := epoch.UTC()
				out[i].Created = &e
			}
		}
	}
	return out
}
