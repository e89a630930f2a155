package engine

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/images"
)

// Commit stores container ref's image plus one layer of what the
// container changed, with its settings and o's (Ref, Author, Comment,
// Changes), as docker commit: for `lade commit` and the API alike.
func (s Stores) Commit(ctx context.Context, ref string, o images.CommitOptions) (v1.Image, error) {
	ctr, err := s.Containers.Get(ref)
	if err != nil {
		return nil, err
	}
	base, err := s.Images.Get(ctx, ctr.ImageID)
	if err != nil {
		return nil, fmt.Errorf("the image of container %s: %w", ref, err)
	}
	o.Layer = func(w io.Writer) error { return s.Containers.WriteDiff(ctx, &ctr.Config, w) }
	o.Config = ctr.ImageConfig
	o.CreatedBy = strings.Join(ctr.Args, " ")
	o.Created = time.Now().UTC()
	return s.Images.Commit(ctx, base, o)
}

// PruneImages untags the images o selects, sparing those any container
// uses (o.InUse is filled here), as docker image prune: for `lade image
// prune` and the API alike. Their blobs stay until a collection.
func (s Stores) PruneImages(ctx context.Context, o images.PruneOptions) ([]string, error) {
	list, err := s.Containers.List()
	if err != nil {
		return nil, err
	}
	o.InUse = map[string]bool{}
	for _, c := range list {
		o.InUse[c.ImageID] = true
	}
	return s.Images.Prune(ctx, o)
}
