package images

import (
	"context"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/internal/prunefilter"
)

// PruneOptions select the images Prune removes.
type PruneOptions struct {
	// All removes every image no kept container uses, not only the
	// untagged (dangling) ones.
	All bool
	// InUse holds the image IDs (config digests) containers use.
	InUse map[string]bool
	// Filter is docker's until= and label= filters.
	Filter prunefilter.Filter
}

// Prune untags the images o selects; their blobs stay until the build
// cache's garbage collection (gc) removes what nothing references. It
// returns docker's lines, "deleted: IMAGE-ID".
func (s *Store) Prune(ctx context.Context, o PruneOptions) ([]string, error) {
	list, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range list {
		if len(e.Names) > 0 && !o.All {
			continue
		}
		ids, _ := s.ImageIDs(e.Digest.String())
		if slices.ContainsFunc(ids, func(id v1.Hash) bool { return o.InUse[id.String()] }) {
			continue // for an index: any platform's image
		}
		if !o.Filter.Match(e.Created, s.labels(ctx, e)) {
			continue
		}
		if err := s.Untag(ctx, e.Digest.String()); err != nil {
			return out, err
		}
		out = append(out, "deleted: "+e.ImageID().String())
	}
	return out, nil
}

// labels are e's config labels (an index's: its default platform's).
func (s *Store) labels(ctx context.Context, e Entry) map[string]string {
	img, err := s.Get(ctx, e.Digest.String())
	if err != nil {
		return nil
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil
	}
	return cf.Config.Labels
}
