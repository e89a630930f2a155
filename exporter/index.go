package exporter

import (
	"context"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// WriteOCIIndex writes a multi-platform image as an OCI image layout in
// tar form to w, as BuildKit's oci exporter does: every image's blobs,
// the image index as a blob (its manifests carry their platform), and
// index.json naming that index once per name (or once unnamed). On error
// the stream is incomplete and should be discarded.
func WriteOCIIndex(ctx context.Context, w io.Writer, idx v1.ImageIndex, names []string) error {
	ns, err := parseNames(names)
	if err != nil {
		return err
	}
	desc, blobs, err := indexBlobs(idx)
	if err != nil {
		return err
	}
	index, err := indexJSON(desc, ns)
	if err != nil {
		return err
	}
	s := newTarSink(w)
	files := []namedFile{{"oci-layout", ociLayoutFile}, {"index.json", index}}
	if err := writeEntries(ctx, s, blobs, files); err != nil {
		return err
	}
	return s.close()
}

// indexBlobs gathers idx's descriptor and the blobs of idx and of every
// image it lists, each once; an index nested in idx is refused.
func indexBlobs(idx v1.ImageIndex) (v1.Descriptor, []blob, error) {
	raw, err := idx.RawManifest()
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("reading image index: %w", err)
	}
	d, err := idx.Digest()
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("computing image index digest: %w", err)
	}
	mt, err := idx.MediaType()
	if err != nil || mt == "" {
		mt = types.OCIImageIndex
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("parsing image index: %w", err)
	}
	all := []blob{bytesBlob(d, raw)}
	for _, m := range im.Manifests {
		if !m.MediaType.IsImage() {
			return v1.Descriptor{}, nil, fmt.Errorf("image index entry %s: media type %s is not an image", m.Digest, m.MediaType)
		}
		img, err := idx.Image(m.Digest)
		if err != nil {
			return v1.Descriptor{}, nil, fmt.Errorf("image index entry %s: %w", m.Digest, err)
		}
		p, err := collect(img)
		if err != nil {
			return v1.Descriptor{}, nil, fmt.Errorf("image %s: %w", m.Digest, err)
		}
		all = append(all, p.blobs...)
	}
	blobs, err := uniqueBlobs(all)
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	return v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: d}, blobs, nil
}
