package cache

import (
	"fmt"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Descriptors in manifests and indexes read from outside (pull, load,
// import, cache import) are checked before any blob they name is fetched
// or stored: Put takes a negative size to mean "unknown" and would skip
// its size check, a digest must be a full sha256 (the one algorithm the
// store keys on), and each field takes only the media types that belong
// there.

// LayerTypes are the layer media types lade can unpack.
var LayerTypes = []types.MediaType{
	types.DockerLayer, types.DockerUncompressedLayer, types.DockerForeignLayer,
	types.OCILayer, types.OCIUncompressedLayer, types.OCILayerZStd,
	types.OCIRestrictedLayer, types.OCIUncompressedRestrictedLayer,
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
}

// ImageConfigTypes are the config media types of an image.
var ImageConfigTypes = []types.MediaType{types.DockerConfigJSON, types.OCIConfigJSON}

// AttestationLayerTypes are the layer media types of an attestation
// manifest (BuildKit's layout): in-toto statements, never unpacked.
var AttestationLayerTypes = []types.MediaType{"application/vnd.in-toto+json"}

// CheckManifest checks m's own media type (empty is allowed, as OCI
// does), its config descriptor against configTypes and every layer
// descriptor against LayerTypes.
func CheckManifest(m *v1.Manifest, configTypes ...types.MediaType) error {
	return CheckManifestLayers(m, LayerTypes, configTypes...)
}

// CheckManifestLayers is CheckManifest with the layer types allowed.
func CheckManifestLayers(m *v1.Manifest, layerTypes []types.MediaType, configTypes ...types.MediaType) error {
	if m.MediaType != "" && !m.MediaType.IsImage() {
		return fmt.Errorf("manifest: unsupported media type %q", m.MediaType)
	}
	if err := CheckDescriptor("config", m.Config, configTypes); err != nil {
		return err
	}
	for i, l := range m.Layers {
		if err := CheckDescriptor(fmt.Sprintf("layer %d", i+1), l, layerTypes); err != nil {
			return err
		}
	}
	return nil
}

// CheckIndex checks the size and digest of every manifest an index
// lists; their media types are checked where they are used, since an
// index may list artifacts lade skips.
func CheckIndex(idx *v1.IndexManifest) error {
	for i, d := range idx.Manifests {
		if err := CheckDescriptor(fmt.Sprintf("index entry %d", i+1), d, nil); err != nil {
			return err
		}
	}
	return nil
}

// CheckDescriptor checks d, named field in messages: size at least 0, a
// sha256 digest of 64 hex digits, and, when allowed is not nil, a media
// type from allowed.
func CheckDescriptor(field string, d v1.Descriptor, allowed []types.MediaType) error {
	if d.Size < 0 {
		return fmt.Errorf("%s: negative size %d", field, d.Size)
	}
	if d.Digest.Algorithm != "sha256" || len(d.Digest.Hex) != 64 {
		return fmt.Errorf("%s: invalid digest %q: want sha256:<64 hex digits>", field, d.Digest.String())
	}
	for _, c := range d.Digest.Hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("%s: invalid digest %q: want sha256:<64 hex digits>", field, d.Digest.String())
		}
	}
	if allowed != nil && !slices.Contains(allowed, d.MediaType) {
		return fmt.Errorf("%s: media type %q does not belong there", field, d.MediaType)
	}
	return nil
}
