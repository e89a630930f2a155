package rawimage

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// New is the OCI image of manifest and config whose layers are layers,
// keyed by digest. A layer the manifest names but layers lacks fails
// when it is read.
func New(manifest, config []byte, layers map[v1.Hash]v1.Layer) (v1.Image, error) {
	return partial.CompressedToImage(&image{manifest: manifest, config: config, layers: layers})
}

// image is New's partial.CompressedImageCore.
type image struct {
	manifest, config []byte
	layers           map[v1.Hash]v1.Layer
}

func (i *image) RawConfigFile() ([]byte, error)      { return i.config, nil }
func (i *image) RawManifest() ([]byte, error)        { return i.manifest, nil }
func (i *image) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (i *image) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := i.layers[h]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("image has no blob %s", h)
}
