// Package localbuild wires the solver to a lade root's stores: the
// builder `lade build` and the API's build (`lade serve`) both use, so a
// build through either caches, runs and stores the same way.
package localbuild

import (
	"path/filepath"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/fileop"
	"github.com/lade-build/lade/runner"
	"github.com/lade-build/lade/snapshot"
	"github.com/lade-build/lade/solver"
)

// Root is what a build uses of a lade root.
type Root struct {
	Dir       string // the root, absolute: its paths reach mount options
	Content   *cache.Store
	Snapshots *snapshot.Snapshotter
	Images    solver.ImageSource // base images (stored, or pulled)
}

// StatCaches are root's remembered context file stats.
func StatCaches(root string) fileop.StatCaches {
	return fileop.StatCaches(filepath.Join(root, "cache", "statcache"))
}

// Builder wires the solver to r for a build of contextDir; statCache
// remembers the context's stats (not for a fetched context, which is new
// every time). The returned func saves the stat cache and stops the
// runner.
func (r Root) Builder(contextDir string, statCache bool) (*solver.Builder, func(), error) {
	// A spare init, started when the build begins (if it has a RUN step)
	// and after each RUN step, overlaps the next step's container start
	// with what runs before it.
	run := runner.New()
	run.Prestart = true
	b := &solver.Builder{
		Snapshots: solver.OverlaySnapshots(r.Snapshots),
		Content:   r.Content,
		Images:    r.Images,
		Exec:      run,
		TmpDir:    filepath.Join(r.Dir, "tmp"), // cache mounts go beside it, in <root>/cachemounts
	}
	if statCache {
		b.StatCache = StatCaches(r.Dir).Open(contextDir)
	}
	var err error
	if b.Index, err = cache.OpenIndex(filepath.Join(r.Dir, "cache", "keys")); err != nil {
		run.Close()
		return nil, nil, err
	}
	return b, func() {
		b.StatCache.Save()
		run.Close()
	}, nil
}
