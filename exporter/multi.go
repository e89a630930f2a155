package exporter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// NamedImage is one image of a multi-image archive with the names it is
// saved under (none for an image saved by ID).
type NamedImage struct {
	Image v1.Image
	Names []string
}

// WriteDockerMulti writes several images to w as one docker save archive,
// as `docker save a b c` does: one manifest.json entry and one index.json
// entry per image (per name), and each blob once even when images share
// layers.
func WriteDockerMulti(ctx context.Context, w io.Writer, imgs []NamedImage) error {
	if len(imgs) == 0 {
		return fmt.Errorf("writing docker archive: no images")
	}
	var (
		parts   []*imageParts
		names   [][]imageName
		blobs   []blob
		seen    = map[v1.Hash]bool{}
		entries []dockerManifestEntry
		repos   = map[string]map[string]string{}
		index   = v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
	)
	for _, ni := range imgs {
		p, ns, err := prepare(ni.Image, ni.Names)
		if err != nil {
			return err
		}
		parts = append(parts, p)
		names = append(names, ns)
		for _, b := range p.blobs {
			if !seen[b.digest] {
				seen[b.digest] = true
				blobs = append(blobs, b)
			}
		}
	}
	for i, p := range parts {
		entry := dockerManifestEntry{Config: p.config.path(), RepoTags: []string{}, Layers: []string{}}
		for _, l := range p.layers {
			entry.Layers = append(entry.Layers, l.path())
		}
		desc := v1.Descriptor{MediaType: p.manifest.MediaType, Size: p.manifest.Size, Digest: p.manifest.Digest, Platform: p.platform}
		for _, n := range names[i] {
			entry.RepoTags = append(entry.RepoTags, n.familiar)
			d := desc
			d.Annotations = map[string]string{annotationImageName: n.full, annotationRefName: n.tag}
			index.Manifests = append(index.Manifests, d)
			if len(p.layers) > 0 {
				if repos[n.repo] == nil {
					repos[n.repo] = map[string]string{}
				}
				repos[n.repo][n.tag] = p.layers[len(p.layers)-1].digest.Hex
			}
		}
		if len(names[i]) == 0 {
			index.Manifests = append(index.Manifests, desc)
		}
		entries = append(entries, entry)
	}
	manifest, err := json.Marshal(entries)
	if err != nil {
		return fmt.Errorf("encoding manifest.json: %w", err)
	}
	idx, err := json.Marshal(index)
	if err != nil {
		return fmt.Errorf("encoding index.json: %w", err)
	}
	files := []namedFile{{"oci-layout", ociLayoutFile}, {"index.json", idx}, {"manifest.json", manifest}}
	if len(repos) > 0 {
		r, err := json.Marshal(repos)
		if err != nil {
			return fmt.Errorf("encoding repositories: %w", err)
		}
		files = append(files, namedFile{"repositories", r})
	}
	s := newTarSink(w)
	if err := writeEntries(ctx, s, blobs, files); err != nil {
		return err
	}
	return s.close()
}

// writeEntries writes the directories, then blobs, then metadata files:
// an export cut short lacks index.json and cannot pass for a whole one.
func writeEntries(ctx context.Context, s *tarSink, blobs []blob, files []namedFile) error {
	for _, d := range []string{"blobs", "blobs/sha256"} {
		if err := s.dir(d); err != nil {
			return err
		}
	}
	for _, b := range blobs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("writing blob %s: %w", b.digest, err)
		}
		if err := s.file(ctx, b, b.path()); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
		h, _, err := v1.SHA256(bytes.NewReader(f.data))
		if err != nil {
			return fmt.Errorf("hashing %s: %w", f.name, err)
		}
		if err := s.file(ctx, bytesBlob(h, f.data), f.name); err != nil {
			return err
		}
	}
	return nil
}
