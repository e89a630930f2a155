package gc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/internal/du"
)

// Roots is what garbage collection must keep whatever the build cache
// says: the blobs of every stored image (manifest, config, layers) and the
// snapshots of those images and of every container.
type Roots struct {
	Blobs   map[v1.Hash]bool
	DiffIDs map[v1.Hash]bool
}

// NewRoots returns empty Roots.
func NewRoots() Roots {
	return Roots{Blobs: map[v1.Hash]bool{}, DiffIDs: map[v1.Hash]bool{}}
}

// AddImage keeps the image whose manifest is digest: that manifest, its
// config, layer blobs and snapshots.
func (r Roots) AddImage(digest v1.Hash, img v1.Image) error {
	r.Blobs[digest] = true
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	r.Blobs[m.Config.Digest] = true
	for _, l := range m.Layers {
		r.Blobs[l.Digest] = true
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	for _, d := range cfg.RootFS.DiffIDs {
		r.DiffIDs[d] = true
	}
	return nil
}

// AddIndex keeps the manifest of an image index; its images are kept by
// AddImage of each.
func (r Roots) AddIndex(digest v1.Hash) { r.Blobs[digest] = true }

// AddLowers keeps the snapshots a container's overlay lowers are: a
// lower is <snapshots>/layers/<hex>/fs (or a twin beside fs).
func (r Roots) AddLowers(lowers []string) {
	for _, l := range lowers {
		r.DiffIDs[v1.Hash{Algorithm: "sha256", Hex: filepath.Base(filepath.Dir(l))}] = true
	}
}

// Snapshots is the part of the snapshotter GC uses.
type Snapshots interface {
	List() ([]v1.Hash, error)
	DiskUsage(diffID v1.Hash) (int64, error)
	Delete(diffID v1.Hash) error
}

// Collector measures and prunes the build cache of one lade root.
// Callers hold the GC lock (cache.Store.LockGC) exclusively to Prune, not
// at all for Usage, which only reads.
type Collector struct {
	Content   *cache.Store
	Index     *cache.Index
	Snapshots Snapshots
	// CacheMounts holds RUN --mount=type=cache dirs, one per id: data/
	// and a lock file; anything else in one is a user's temp dir.
	CacheMounts string
	// Scratch are the stores whose temp entries go once older than
	// PruneOptions.StaleAge.
	Scratch []cache.Scratcher
	// Roots lists what stored images and containers use; called once per
	// Usage or Prune.
	Roots func(ctx context.Context) (Roots, error)
}

// Entry is one cached layer: the records pointing at it (a step's key and
// its position's slot record share one layer), its blob and snapshot.
type Entry struct {
	ID          string // the layer's DiffID hex
	Keys        []string
	Layer       cache.LayerInfo
	Description string
	Created     time.Time
	LastUsed    time.Time
	Size        int64 // blob plus snapshot bytes
	// Shared is set when an image or container uses the layer: pruning
	// the entry forgets the cache key but frees nothing.
	Shared bool
}

// Mount is a RUN --mount=type=cache directory.
type Mount struct {
	ID       string // sha256 of the cache id, the dir name
	Size     int64
	LastUsed time.Time
}

// Usage is the build cache of a root.
type Usage struct {
	Entries []Entry // oldest use first
	Mounts  []Mount
	// Orphans are blobs and snapshots nothing references.
	Orphans    int
	OrphanSize int64
	Scratch    int64 // stale-or-not temp files
	snapOrphan []orphan
	blobOrphan []orphan
}

// orphan is an unreferenced blob or snapshot and the bytes it takes, as
// measured by Usage, so Prune need not measure it again.
type orphan struct {
	d    v1.Hash
	size int64
}

// Total is the size of the whole build cache.
func (u *Usage) Total() int64 {
	t := u.OrphanSize + u.Scratch
	for _, e := range u.Entries {
		if !e.Shared {
			t += e.Size
		}
	}
	for _, m := range u.Mounts {
		t += m.Size
	}
	return t
}

// Usage measures the build cache.
func (g *Collector) Usage(ctx context.Context) (*Usage, error) {
	roots, err := g.Roots(ctx)
	if err != nil {
		return nil, err
	}
	return g.usage(roots, nil)
}

// usage scans everything; staleBefore, if set, limits Scratch to entries
// older than it.
func (g *Collector) usage(roots Roots, staleBefore *time.Time) (*Usage, error) {
	u := &Usage{}
	byLayer, err := g.entries(roots)
	if err != nil {
		return nil, err
	}
	for _, e := range byLayer {
		u.Entries = append(u.Entries, *e)
	}
	sort.Slice(u.Entries, func(i, j int) bool {
		if !u.Entries[i].LastUsed.Equal(u.Entries[j].LastUsed) {
			return u.Entries[i].LastUsed.Before(u.Entries[j].LastUsed)
		}
		return u.Entries[i].ID < u.Entries[j].ID
	})
	if err := g.orphans(u, roots, byLayer); err != nil {
		return nil, err
	}
	if u.Mounts, err = g.mounts(); err != nil {
		return nil, err
	}
	for _, p := range g.scratch(staleBefore) {
		if n, err := du.Size(p); err == nil {
			u.Scratch += n
		}
	}
	return u, nil
}

// entries groups the index's records by layer and sizes the layers no
// root shares.
func (g *Collector) entries(roots Roots) (map[v1.Hash]*Entry, error) {
	byLayer := map[v1.Hash]*Entry{}
	err := g.Index.WalkUsed(func(key string, r cache.Result, used time.Time) error {
		e := byLayer[r.Layer.Digest]
		if e == nil {
			e = &Entry{ID: r.Layer.DiffID.Hex, Layer: r.Layer, Created: r.Created, LastUsed: used}
			e.Shared = roots.Blobs[r.Layer.Digest] || roots.DiffIDs[r.Layer.DiffID]
			byLayer[r.Layer.Digest] = e
		}
		e.Keys = append(e.Keys, key)
		if used.After(e.LastUsed) {
			e.LastUsed = used
		}
		if e.Description == "" {
			e.Description = strings.ReplaceAll(r.Inputs["instruction"], "\x00", " ")
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading cache index: %w", err)
	}
	for _, e := range byLayer {
		if e.Shared {
			continue
		}
		if n, err := g.Content.Size(e.Layer.Digest); err == nil {
			e.Size += n
		}
		if n, err := g.Snapshots.DiskUsage(e.Layer.DiffID); err == nil {
			e.Size += n
		}
	}
	return byLayer, nil
}

// orphans finds the blobs and snapshots that neither a root nor a record
// references.
func (g *Collector) orphans(u *Usage, roots Roots, byLayer map[v1.Hash]*Entry) error {
	recDiff := map[v1.Hash]bool{}
	for _, e := range byLayer {
		recDiff[e.Layer.DiffID] = true
	}
	err := g.Content.Walk(func(d v1.Hash, size int64) error {
		if !roots.Blobs[d] && byLayer[d] == nil {
			u.blobOrphan = append(u.blobOrphan, orphan{d, size})
			u.Orphans++
			u.OrphanSize += size
		}
		return nil
	})
	if err != nil {
		return err
	}
	snaps, err := g.Snapshots.List()
	if err != nil {
		return err
	}
	for _, d := range snaps {
		if !roots.DiffIDs[d] && !recDiff[d] {
			n, _ := g.Snapshots.DiskUsage(d) // 0 when it cannot be measured
			u.snapOrphan = append(u.snapOrphan, orphan{d, n})
			u.Orphans++
			u.OrphanSize += n
		}
	}
	return nil
}

func (g *Collector) mounts() ([]Mount, error) {
	if g.CacheMounts == "" {
		return nil, nil
	}
	ents, err := os.ReadDir(g.CacheMounts)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading cache mounts: %w", err)
	}
	var out []Mount
	for _, e := range ents {
		if !e.IsDir() || !isMountID(e.Name()) {
			continue
		}
		p := filepath.Join(g.CacheMounts, e.Name())
		// Only data: the users' temp dirs beside it are scratch
		// (mountScratch), counted there.
		n, _ := du.Size(filepath.Join(p, "data"))
		m := Mount{ID: e.Name(), Size: n}
		// The lock file is opened by every use of the mount.
		if fi, err := os.Stat(filepath.Join(p, "data")); err == nil {
			m.LastUsed = fi.ModTime()
		}
		out = append(out, m)
	}
	return out, nil
}

// isMountID reports whether name is a cache mount's dir: a sha256 in hex.
func isMountID(name string) bool {
	return len(name) == 64 && strings.Trim(name, "0123456789abcdef") == ""
}

// scratch lists the stores' temp entries and the cache mounts', keeping
// those older than before (all if before is nil).
func (g *Collector) scratch(before *time.Time) []string {
	var all []string
	for _, s := range g.Scratch {
		all = append(all, s.Scratch()...)
	}
	all = append(all, g.mountScratch()...)
	var out []string
	for _, p := range all {
		fi, err := os.Lstat(p)
		if err != nil || (before != nil && !fi.ModTime().Before(*before)) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// mountScratch lists what removeAside left and the temp dirs of cache
// mount users (init-, private-, seed-): all but data and the lock file.
func (g *Collector) mountScratch() []string {
	if g.CacheMounts == "" {
		return nil
	}
	out, _ := filepath.Glob(filepath.Join(g.CacheMounts, asidePrefix+"*"))
	ents, _ := os.ReadDir(g.CacheMounts)
	for _, e := range ents {
		if !e.IsDir() || !isMountID(e.Name()) {
			continue
		}
		dir := filepath.Join(g.CacheMounts, e.Name())
		inner, _ := os.ReadDir(dir)
		for _, f := range inner {
			if f.Name() != "data" && f.Name() != "lock" {
				out = append(out, filepath.Join(dir, f.Name()))
			}
		}
	}
	return out
}
