package images

import (
	"bytes"
	"context"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lade-build/lade/cache"
)

// maxMetadata bounds manifests and configs read into memory.
const maxMetadata = 8 << 20

// readBlob reads a small blob (manifest, config) fully from content, which
// verifies its digest on the way.
func (s *Store) readBlob(d v1.Hash, what string) ([]byte, error) {
	rc, err := s.content.Open(d)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxMetadata+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", what, d, err)
	}
	if len(b) > maxMetadata {
		return nil, fmt.Errorf("reading %s %s: larger than %d bytes", what, d, maxMetadata)
	}
	return b, nil
}

// putMetadata stores an image's config, then its manifest raw: last,
// as its presence implies the image's blobs are there. It returns the
// manifest's digest.
func (s *Store) putMetadata(ctx context.Context, rawCfg, raw []byte) (v1.Hash, error) {
	if _, err := s.content.PutBytes(ctx, rawCfg); err != nil {
		return v1.Hash{}, err
	}
	return s.content.PutBytes(ctx, raw)
}

// putAndLoad is putMetadata, then the stored image.
func (s *Store) putAndLoad(ctx context.Context, rawCfg, raw []byte) (v1.Image, error) {
	d, err := s.putMetadata(ctx, rawCfg, raw)
	if err != nil {
		return nil, err
	}
	return s.load(ctx, d)
}

// load builds the store-backed image for manifest d.
func (s *Store) load(ctx context.Context, d v1.Hash) (v1.Image, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raw, err := s.readBlob(d, "manifest")
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing manifest %s: %w", d, err)
	}
	mt := m.MediaType
	if mt == "" {
		mt = types.OCIManifestSchema1 // OCI allows omitting it
	}
	if !mt.IsImage() {
		return nil, fmt.Errorf("manifest %s: unsupported media type %q", d, mt)
	}
	rawCfg, err := s.readBlob(m.Config.Digest, "config")
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", d, err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawCfg))
	if err != nil {
		return nil, fmt.Errorf("parsing config %s: %w", m.Config.Digest, err)
	}
	core := &storedCore{raw: raw, mediaType: mt, config: rawCfg, configDigest: m.Config.Digest, layers: map[v1.Hash]v1.Layer{}}
	// DiffIDs pair with layers by position; a mismatch is a broken image,
	// but only DiffID-based lookups need them, so leave them empty then.
	diffIDs := cfg.RootFS.DiffIDs
	for i, desc := range m.Layers {
		info := cache.LayerInfo{Digest: desc.Digest, Size: desc.Size, MediaType: desc.MediaType}
		if len(diffIDs) == len(m.Layers) {
			info.DiffID = diffIDs[i]
		}
		core.layers[desc.Digest] = s.content.Layer(info)
	}
	img, err := partial.CompressedToImage(core)
	if err != nil {
		return nil, err
	}
	return &storedImage{Image: img, core: core}, nil
}

// storedCore is the minimal partial.CompressedImageCore over stored bytes:
// the raw manifest is served as stored, so digests never change.
type storedCore struct {
	raw          []byte
	mediaType    types.MediaType
	config       []byte
	configDigest v1.Hash
	layers       map[v1.Hash]v1.Layer
}

func (c *storedCore) RawManifest() ([]byte, error)        { return c.raw, nil }
func (c *storedCore) MediaType() (types.MediaType, error) { return c.mediaType, nil }
func (c *storedCore) RawConfigFile() ([]byte, error)      { return c.config, nil }

func (c *storedCore) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if l, ok := c.layers[h]; ok {
		return l, nil
	}
	if h == c.configDigest {
		return partial.ConfigLayer(c)
	}
	return nil, fmt.Errorf("layer %s not in image", h)
}

// storedImage hands out the content store's layers directly, rather than
// partial's wrappers, so DiffIDs come from the config and Uncompressed
// decompresses by media type and verifies the DiffID.
type storedImage struct {
	v1.Image
	core *storedCore
}

func (i *storedImage) Layers() ([]v1.Layer, error) {
	m, err := i.Manifest()
	if err != nil {
		return nil, err
	}
	ls := make([]v1.Layer, 0, len(m.Layers))
	for _, d := range m.Layers {
		ls = append(ls, i.core.layers[d.Digest])
	}
	return ls, nil
}

func (i *storedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	if l, ok := i.core.layers[h]; ok {
		return l, nil
	}
	return i.Image.LayerByDigest(h) // e.g. the config blob
}

func (i *storedImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	for _, l := range i.core.layers {
		if d, _ := l.DiffID(); d == h {
			return l, nil
		}
	}
	return nil, fmt.Errorf("no layer with diff id %s", h)
}
