package exporter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lade-build/lade/internal/ctxio"
)

// blob is one content-addressed file of the layout.
type blob struct {
	digest v1.Hash
	size   int64
	open   func() (io.ReadCloser, error)
}

func (b blob) path() string {
	return "blobs/" + b.digest.Algorithm + "/" + b.digest.Hex
}

// imageParts is what the writers need from an image, gathered up front
// so a broken image fails before anything is written.
type imageParts struct {
	manifest v1.Descriptor
	config   blob
	layers   []blob // in manifest order, duplicates kept
	blobs    []blob // manifest, config, layers; deduplicated
	platform *v1.Platform
}

func collect(img v1.Image) (*imageParts, error) {
	manifest, mblob, err := manifestBlob(img)
	if err != nil {
		return nil, err
	}
	config, platform, err := configBlob(img)
	if err != nil {
		return nil, err
	}
	layers, err := layerBlobs(img)
	if err != nil {
		return nil, err
	}
	blobs, err := uniqueBlobs(append([]blob{mblob, config}, layers...))
	if err != nil {
		return nil, err
	}
	return &imageParts{manifest: manifest, config: config, layers: layers, blobs: blobs, platform: platform}, nil
}

// manifestBlob returns img's manifest as a descriptor and as a blob.
func manifestBlob(img v1.Image) (v1.Descriptor, blob, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, blob{}, fmt.Errorf("reading manifest: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, blob{}, fmt.Errorf("computing manifest digest: %w", err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, blob{}, fmt.Errorf("reading manifest media type: %w", err)
	}
	if mt == "" {
		mt = types.OCIManifestSchema1
	}
	return v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: d}, bytesBlob(d, raw), nil
}

// configBlob returns img's config blob and the platform it names (nil
// for none).
func configBlob(img v1.Image) (blob, *v1.Platform, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return blob{}, nil, fmt.Errorf("reading config: %w", err)
	}
	d, err := img.ConfigName()
	if err != nil {
		return blob{}, nil, fmt.Errorf("computing config digest: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return blob{}, nil, fmt.Errorf("parsing config: %w", err)
	}
	var platform *v1.Platform
	if cfg.OS != "" || cfg.Architecture != "" {
		platform = &v1.Platform{
			OS:           cfg.OS,
			Architecture: cfg.Architecture,
			Variant:      cfg.Variant,
			OSVersion:    cfg.OSVersion,
		}
	}
	return bytesBlob(d, raw), platform, nil
}

// layerBlobs returns img's layers in manifest order, each checked
// against its manifest descriptor.
func layerBlobs(img v1.Image) ([]blob, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("parsing manifest: %w", err)
	}
	ls, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("listing layers: %w", err)
	}
	if len(ls) != len(m.Layers) {
		return nil, fmt.Errorf("image has %d layers but its manifest lists %d", len(ls), len(m.Layers))
	}
	var layers []blob
	for i, l := range ls {
		d, err := l.Digest()
		if err != nil {
			return nil, fmt.Errorf("layer %d: computing digest: %w", i, err)
		}
		size, err := l.Size()
		if err != nil {
			return nil, fmt.Errorf("layer %s: reading size: %w", d, err)
		}
		// The manifest is what readers trust; a layer disagreeing with it
		// would produce a layout whose blobs the manifest does not name.
		if want := m.Layers[i]; want.Digest != d || want.Size != size {
			return nil, fmt.Errorf("layer %s (size %d): does not match manifest descriptor %s (size %d)", d, size, want.Digest, want.Size)
		}
		layers = append(layers, blob{digest: d, size: size, open: l.Compressed})
	}
	return layers, nil
}

// uniqueBlobs drops repeated blobs, keeping the first of each; every
// blob must be sha256.
func uniqueBlobs(all []blob) ([]blob, error) {
	var out []blob
	seen := map[v1.Hash]bool{}
	for _, b := range all {
		if b.digest.Algorithm != "sha256" {
			return nil, fmt.Errorf("blob %s: unsupported digest algorithm %q", b.digest, b.digest.Algorithm)
		}
		if seen[b.digest] {
			continue
		}
		seen[b.digest] = true
		out = append(out, b)
	}
	return out, nil
}

func bytesBlob(d v1.Hash, data []byte) blob {
	return blob{digest: d, size: int64(len(data)), open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}
}

// copyVerified streams exactly b.size bytes of rc, b opened, into dst
// and fails if the source is shorter, longer, or hashes to something
// other than b.digest.
func copyVerified(ctx context.Context, dst io.Writer, b blob, rc io.Reader) error {

	// The content store's reader checks digest and size at EOF itself;
	// hashing 100 MB a second time was a quarter of a no-op rebuild.
	selfChecked := false
	if v, ok := rc.(interface{ Verifies() (v1.Hash, int64) }); ok {
		d, size := v.Verifies()
		selfChecked = d == b.digest && size == b.size
	}
	h := sha256.New()
	var src io.Reader = ctxio.Reader(ctx, rc)
	if !selfChecked {
		src = io.TeeReader(src, h)
	}
	n, err := pipeCopy(dst, src, b.size)
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("blob %s: got %d bytes, descriptor says %d", b.digest, n, b.size)
	}
	if err != nil {
		return fmt.Errorf("blob %s: copying: %w", b.digest, err)
	}
	var one [1]byte
	m, rerr := io.ReadFull(src, one[:])
	if m > 0 {
		return fmt.Errorf("blob %s: content is longer than descriptor size %d", b.digest, b.size)
	}
	if selfChecked {
		if !errors.Is(rerr, io.EOF) {
			return fmt.Errorf("blob %s: %w", b.digest, rerr) // the reader's digest check
		}
		return nil
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != b.digest.Hex {
		return fmt.Errorf("blob %s: content hashes to sha256:%s", b.digest, got)
	}
	return nil
}
