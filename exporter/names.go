package exporter

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is how the default registry is spelled in image names;
// go-containerregistry spells it index.docker.io internally.
const dockerHub = "docker.io"

// imageName is one normalized tag the image is exported under.
type imageName struct {
	full     string // docker.io/library/app:latest
	familiar string // app:latest
	repo     string // familiar repository: app, 127.0.0.1:5000/busybox
	tag      string // latest
}

// parseNames normalizes names, dropping duplicates while keeping order.
func parseNames(names []string) ([]imageName, error) {
	var out []imageName
	seen := map[string]bool{}
	for _, s := range names {
		n, err := parseName(s)
		if err != nil {
			return nil, err
		}
		if seen[n.full] {
			continue
		}
		seen[n.full] = true
		out = append(out, n)
	}
	return out, nil
}

func parseName(s string) (imageName, error) {
	if strings.Contains(s, "@") {
		return imageName{}, fmt.Errorf("image name %q: a digest reference cannot be used as a tag", s)
	}
	t, err := name.NewTag(s, name.WithDefaultRegistry(name.DefaultRegistry), name.WithDefaultTag(name.DefaultTag))
	if err != nil {
		return imageName{}, fmt.Errorf("image name %q: %w", s, err)
	}
	reg := t.RegistryStr()
	repo := t.RepositoryStr()
	familiar := reg + "/" + repo
	if reg == name.DefaultRegistry {
		reg = dockerHub
		familiar = repo
		// Docker hides library/ only for official single-element names.
		if rest, ok := strings.CutPrefix(repo, "library/"); ok && !strings.Contains(rest, "/") {
			familiar = rest
		}
	}
	return imageName{
		full:     reg + "/" + repo + ":" + t.TagStr(),
		familiar: familiar + ":" + t.TagStr(),
		repo:     familiar,
		tag:      t.TagStr(),
	}, nil
}
