package images

import (
	"context"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PruneOptions select the images Prune removes.
type PruneOptions struct {
	// All removes every image no kept container uses, not only the
	// untagged (dangling) ones.
	All bool
	// InUse holds the image IDs (config digests) containers use.
	InUse map[string]bool
	// Until, if set, spares images created at or after it.
	Until time.Time
	// Labels are docker's label filters: "KEY", "KEY=VALUE", and with
	// Not set in a filter the images that do not match are pruned.
	Labels []LabelFilter
}

// LabelFilter is one label= (or label!=, Not) filter of a prune.
type LabelFilter struct {
	Key, Value string
	HasValue   bool
	Not        bool
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
		if !o.Until.IsZero() && !e.Created.Before(o.Until) {
			continue
		}
		ids, _ := s.ImageIDs(e.Digest.String())
		if slices.ContainsFunc(ids, func(id v1.Hash) bool { return o.InUse[id.String()] }) {
			continue // for an index: any platform's image
		}
		if len(o.Labels) > 0 && !s.labelsMatch(ctx, e, o.Labels) {
			continue
		}
		if err := s.Untag(ctx, e.Digest.String()); err != nil {
			return out, err
		}
		out = append(out, "deleted: "+e.ImageID().String())
	}
	return out, nil
}

// labelsMatch reports whether e's config labels pass every filter.
func (s *Store) labelsMatch(ctx context.Context, e Entry, filters []LabelFilter) bool {
	var labels map[string]string
	if img, err := s.Get(ctx, e.Digest.String()); err == nil {
		if cf, err := img.ConfigFile(); err == nil {
			labels = cf.Config.Labels
		}
	}
	for _, f := range filters {
		v, ok := labels[f.Key]
		match := ok && (!f.HasValue || v == f.Value)
		if match == f.Not {
			return false
		}
	}
	return true
}

// ParseLabelFilter reads docker's "KEY[=VALUE]" label filter value.
func ParseLabelFilter(s string, not bool) LabelFilter {
	k, v, has := strings.Cut(s, "=")
	return LabelFilter{Key: k, Value: v, HasValue: has, Not: not}
}
