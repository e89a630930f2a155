package exporter

import (
	"encoding/json"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Metadata is what buildx's --metadata-file holds for an image build.
type Metadata struct {
	Digest       string         `json:"containerimage.digest"`
	ConfigDigest string         `json:"containerimage.config.digest,omitempty"`
	Descriptor   *v1.Descriptor `json:"containerimage.descriptor"`
	Name         string         `json:"image.name,omitempty"`
}

// ImageMetadata describes img, exported under names.
func ImageMetadata(img v1.Image, names []string) (*Metadata, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	desc, err := descriptorOf(img.MediaType, img.Size, d)
	if err != nil {
		return nil, err
	}
	return &Metadata{Digest: d.String(), ConfigDigest: cfg.String(), Descriptor: desc, Name: strings.Join(names, ",")}, nil
}

// IndexMetadata describes a multi-platform build's index, exported under
// names.
func IndexMetadata(idx v1.ImageIndex, names []string) (*Metadata, error) {
	d, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	desc, err := descriptorOf(idx.MediaType, idx.Size, d)
	if err != nil {
		return nil, err
	}
	return &Metadata{Digest: d.String(), Descriptor: desc, Name: strings.Join(names, ",")}, nil
}

// descriptorOf is the descriptor of an image or index from its media
// type and size methods.
func descriptorOf(mt func() (types.MediaType, error), size func() (int64, error), d v1.Hash) (*v1.Descriptor, error) {
	m, err := mt()
	if err != nil {
		return nil, err
	}
	n, err := size()
	if err != nil {
		return nil, err
	}
	return &v1.Descriptor{MediaType: m, Digest: d, Size: n}, nil
}

// JSON is m as --metadata-file writes it.
func (m *Metadata) JSON() ([]byte, error) { return json.MarshalIndent(m, "", "  ") }
