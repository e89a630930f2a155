package exporter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotation keys that tie an index entry to an image name: containerd
// (and so docker load) reads the first, OCI tools the second.
const (
	annotationImageName = "io.containerd.image.name"
	annotationRefName   = "org.opencontainers.image.ref.name"
)

// ociLayoutFile is the content of the layout's "oci-layout" marker.
var ociLayoutFile = []byte(`{"imageLayoutVersion":"1.0.0"}`)

// WriteOCI writes img as an OCI image layout in tar form to w, with one
// index.json entry per name (or a single unnamed entry when names is empty).
// On error the stream is incomplete and should be discarded.
func WriteOCI(ctx context.Context, w io.Writer, img v1.Image, names []string) error {
	return writeTar(ctx, w, img, names, nil)
}

// writeTar writes img's layout as a tar to w, with the files extra (nil:
// none) makes added to the metadata.
func writeTar(ctx context.Context, w io.Writer, img v1.Image, names []string, extra func(*imageParts, []imageName) ([]namedFile, error)) error {
	p, ns, err := prepare(img, names)
	if err != nil {
		return err
	}
	var files []namedFile
	if extra != nil {
		if files, err = extra(p, ns); err != nil {
			return err
		}
	}
	s := newTarSink(w)
	if err := writeLayout(ctx, s, p, ns, files); err != nil {
		return err
	}
	return s.close()
}

func prepare(img v1.Image, names []string) (*imageParts, []imageName, error) {
	ns, err := parseNames(names)
	if err != nil {
		return nil, nil, err
	}
	p, err := collect(img)
	if err != nil {
		return nil, nil, err
	}
	return p, ns, nil
}

// namedFile is a small metadata file written after the blobs.
type namedFile struct {
	name string
	data []byte
}

// writeLayout writes the directories, then every blob, then the metadata
// files. Metadata goes last so that an export cut short by an error lacks
// index.json and cannot be mistaken for a complete one.
func writeLayout(ctx context.Context, s *tarSink, p *imageParts, names []imageName, extra []namedFile) error {
	d := p.manifest
	d.Platform = p.platform
	index, err := indexJSON(d, names)
	if err != nil {
		return err
	}
	files := append([]namedFile{
		{"oci-layout", ociLayoutFile},
		{"index.json", index},
	}, extra...)
	return writeEntries(ctx, s, p.blobs, files)
}

// indexJSON is the layout's index.json: the manifest d once per name
// (with the names' annotations), or once unnamed.
func indexJSON(d v1.Descriptor, names []imageName) ([]byte, error) {
	desc := func(annotations map[string]string) v1.Descriptor {
		e := d
		e.Annotations = annotations
		return e
	}
	idx := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests:     []v1.Descriptor{},
	}
	for _, n := range names {
		idx.Manifests = append(idx.Manifests, desc(map[string]string{
			annotationImageName: n.full,
			annotationRefName:   n.tag,
		}))
	}
	if len(names) == 0 {
		idx.Manifests = append(idx.Manifests, desc(nil))
	}
	data, err := json.Marshal(idx)
	if err != nil {
		return nil, fmt.Errorf("encoding index.json: %w", err)
	}
	return data, nil
}
