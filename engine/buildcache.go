package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/gc"
	"github.com/lade-build/lade/localbuild"
	"github.com/lade-build/lade/solver"
)

// BuildCacheMinAge spares unreferenced blobs, snapshots and temp files
// this young from a prune: processes that do not take the GC lock (lade
// run unpacking, a pull not yet tagged by its caller) may be about to
// reference them.
const BuildCacheMinAge = 10 * time.Minute

// Collector is the collector of r's build cache, whose roots are what
// s's images and containers use: for `lade builder prune`, `lade system
// df` and the API's alike.
func (s Stores) Collector(r localbuild.Root) (*gc.Collector, error) {
	ix, err := cache.OpenIndex(filepath.Join(r.Dir, "cache", "keys"))
	if err != nil {
		return nil, err
	}
	return &gc.Collector{
		Content:     r.Content,
		Index:       ix,
		Snapshots:   r.Snapshots,
		CacheMounts: filepath.Join(r.Dir, "cachemounts"),
		Scratch:     []cache.Scratcher{r.Content, ix, r.Snapshots, s.Images, solver.TmpDir(filepath.Join(r.Dir, "tmp")), localbuild.StatCaches(r.Dir)},
		Roots:       s.gcRoots,
	}, nil
}

// gcRoots lists what images and containers use: every stored image,
// the children of multi-platform indexes too, and the indexes. A stored
// image that cannot be read fails the collection rather than losing its
// blobs.
func (s Stores) gcRoots(ctx context.Context) (gc.Roots, error) {
	r := gc.NewRoots()
	imgs, indexes, err := s.Images.Manifests(ctx)
	if err != nil {
		return r, err
	}
	for _, d := range imgs {
		img, err := s.Images.Get(ctx, d.String())
		if err != nil {
			return r, fmt.Errorf("image %s is damaged (remove it with lade rmi): %w", d, err)
		}
		if err := r.AddImage(d, img); err != nil {
			return r, err
		}
	}
	for _, d := range indexes {
		r.AddIndex(d)
	}
	ctrs, err := s.Containers.List()
	if err != nil {
		return r, err
	}
	for _, c := range ctrs {
		r.AddLowers(c.Lowers)
	}
	return r, nil
}

// PruneBuildCache is docker builder prune: r's build cache pruned as o
// says under the root's exclusive GC lock; waiting, if not nil, is
// called when running builds hold the lock.
func (s Stores) PruneBuildCache(ctx context.Context, r localbuild.Root, o gc.PruneOptions, waiting func()) (*gc.PruneReport, error) {
	g, err := s.Collector(r)
	if err != nil {
		return nil, err
	}
	if waiting == nil {
		waiting = func() {}
	}
	unlock, err := r.Content.LockGC(ctx, waiting)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return g.Prune(ctx, o)
}

// BuildPruneFilters adds builder prune's filters ("until=DURATION", or
// its older name unused-for) to o.
func BuildPruneFilters(o *gc.PruneOptions, filters []string) error {
	for _, s := range filters {
		k, v, _ := strings.Cut(s, "=")
		switch k {
		case "until", "unused-for":
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("--filter %s: %w", s, err)
			}
			o.Until = d
		default:
			return fmt.Errorf("--filter %q: only until=DURATION is supported", s)
		}
	}
	return nil
}
