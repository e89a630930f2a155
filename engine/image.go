package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ctypes "github.com/moby/moby/api/types/container"
	itypes "github.com/moby/moby/api/types/image"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lade-build/lade/images"
)

// ImageJSON is docker image inspect's record: the Engine API's
// InspectResponse with API 1.41's fields kept for the scripts that read
// them: Parent, DockerVersion, VirtualSize, Comment and Author even when
// empty, and Config in the container config's shape, every key present.
type ImageJSON struct {
	itypes.InspectResponse
	Parent        string
	Comment       string
	Author        string
	DockerVersion string
	VirtualSize   int64
	Config        *ctypes.Config
}

// ImageInspect fills docker's inspect record of the image ref names in s
// (platform's image of a multi-platform one; nil: the host's).
func ImageInspect(ctx context.Context, s *images.Store, ref string, platform *v1.Platform) (ImageJSON, error) {
	ii, err := s.Inspect(ctx, ref, platform)
	if err != nil {
		return ImageJSON{}, err
	}
	cfg, err := imageConfig(ii.Config)
	if err != nil {
		return ImageJSON{}, err
	}
	r := itypes.InspectResponse{
		ID:           ii.ID,
		RepoTags:     ii.RepoTags,
		RepoDigests:  ii.RepoDigests,
		Created:      ii.Created,
		Architecture: ii.Architecture,
		Variant:      ii.Variant,
		Os:           ii.Os,
		Size:         ii.Size,
		RootFS:       itypes.RootFS{Type: ii.RootFS.Type, Layers: ii.RootFS.Layers},
	}
	for _, m := range ii.Manifests {
		r.Manifests = append(r.Manifests, manifestSummary(m))
	}
	return ImageJSON{InspectResponse: r, Parent: ii.Parent, Comment: ii.Comment, Author: ii.Author,
		DockerVersion: ii.DockerVersion, VirtualSize: ii.Size, Config: cfg}, nil
}

// imageConfig is an image's config in the Engine API's container config
// type; both are docker's config JSON, so it is read through it.
func imageConfig(c v1.Config) (*ctypes.Config, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	out := &ctypes.Config{}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	return out, nil
}

// manifestSummary is an index entry as docker's containerd store lists it.
func manifestSummary(e images.IndexEntry) itypes.ManifestSummary {
	d := e.Descriptor
	desc := ocispec.Descriptor{MediaType: string(d.MediaType), Digest: digest.Digest(d.Digest.String()), Size: d.Size, Annotations: d.Annotations}
	if p := d.Platform; p != nil {
		desc.Platform = &ocispec.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, OSVersion: p.OSVersion}
	}
	kind := itypes.ManifestKindImage
	if !d.MediaType.IsImage() {
		kind = itypes.ManifestKindUnknown
	}
	m := itypes.ManifestSummary{ID: d.Digest.String(), Descriptor: desc, Available: e.Available, Kind: kind}
	m.Size.Content, m.Size.Total = e.Size, e.Size
	return m
}

// Summaries fill docker images' records of list; users counts the
// containers of each image ID (nil: not counted, -1 as docker's).
func Summaries(ctx context.Context, s *images.Store, list []images.Entry, users map[string]int) ([]itypes.Summary, error) {
	out := make([]itypes.Summary, 0, len(list))
	for _, e := range list {
		sum := itypes.Summary{
			ID: e.ImageID().String(), Created: unixCreated(e.Created), Size: e.Size, SharedSize: -1, Containers: -1,
			RepoTags: nonNil(e.Names), RepoDigests: []string{}, Labels: map[string]string{},
		}
		if users != nil {
			sum.Containers = int64(users[sum.ID])
		}
		sum.RepoDigests = repoDigests(e.Names, e.Digest)
		if img, err := s.Get(ctx, e.Digest.String()); err == nil {
			if cfg, err := img.ConfigFile(); err == nil && cfg.Config.Labels != nil {
				sum.Labels = cfg.Config.Labels
			}
		}
		out = append(out, sum)
	}
	return out, nil
}

// repoDigests are the repositories of names with digest d, as docker
// lists an image's RepoDigests.
func repoDigests(names []string, d v1.Hash) []string {
	out := []string{}
	for _, n := range names {
		repo, _ := images.SplitTag(n)
		if r := repo + "@" + d.String(); !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// unixCreated is a creation time as the Engine API's image list and
// history give it: 0 when the image does not say, as dockerd (not year
// 1's Unix time, which clients print as 292 years ago).
func unixCreated(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// History fills docker history's records of img, newest first.
func History(img v1.Image, tags []string) ([]itypes.HistoryResponseItem, error) {
	rows, err := images.History(img)
	if err != nil {
		return nil, err
	}
	out := make([]itypes.HistoryResponseItem, 0, len(rows))
	for i, r := range rows {
		h := itypes.HistoryResponseItem{ID: r.ID, Created: unixCreated(r.Created), CreatedBy: r.CreatedBy, Size: r.Size,
			Comment: r.Comment, Tags: []string{}}
		if i == 0 {
			h.Tags = nonNil(tags)
		}
		out = append(out, h)
	}
	return out, nil
}
