package exporter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// dockerManifestEntry is one image of docker save's manifest.json.
type dockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// WriteDocker writes img to w as a docker save archive that `docker load`
// accepts. Like current docker save it is also a valid OCI layout: the
// blobs, oci-layout and index.json are those of WriteOCI, with
// manifest.json and repositories added. Layers stay compressed, under
// their digest-named blob paths; docker load decompresses them itself.
func WriteDocker(ctx context.Context, w io.Writer, img v1.Image, names []string) error {
	return writeTar(ctx, w, img, names, dockerFiles)
}

func dockerFiles(p *imageParts, names []imageName) ([]namedFile, error) {
	entry := dockerManifestEntry{
		Config:   p.config.path(),
		RepoTags: []string{},
		Layers:   []string{},
	}
	for _, n := range names {
		entry.RepoTags = append(entry.RepoTags, n.familiar)
	}
	for _, l := range p.layers {
		entry.Layers = append(entry.Layers, l.path())
	}
	manifest, err := json.Marshal([]dockerManifestEntry{entry})
	if err != nil {
		return nil, fmt.Errorf("encoding manifest.json: %w", err)
	}
	files := []namedFile{{"manifest.json", manifest}}

	// The legacy repositories file maps repository -> tag -> top layer id.
	// Only pre-manifest.json loaders read it; without layers there is no
	// id to give, so it is left out.
	if len(names) > 0 && len(p.layers) > 0 {
		top := p.layers[len(p.layers)-1].digest.Hex
		repos := map[string]map[string]string{}
		for _, n := range names {
			if repos[n.repo] == nil {
				repos[n.repo] = map[string]string{}
			}
			repos[n.repo][n.tag] = top
		}
		data, err := json.Marshal(repos)
		if err != nil {
			return nil, fmt.Errorf("encoding repositories: %w", err)
		}
		files = append(files, namedFile{"repositories", data})
	}
	return files, nil
}
