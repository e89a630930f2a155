package cache

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// Roots is what garbage collection must keep whatever the build cache
// says: the blobs of every stored image (manifest, config, layers) and the
// snapshots of those images and of every container.
type Roots struct {
	Blobs   map[v1.Hash]bool
	DiffIDs map[v1.Hash]bool
}

// Snapshots is the part of the snapshotter GC uses.
type Snapshots interface {
	List() ([]v1.Hash, error)
	DiskUsage(diffID v1.Hash) (int64, error)
	Delete(diffID v1.Hash) error
}

// GC measures and prunes the build cache of one lade root. Callers hold
// the GC lock (see gclock.go): exclusively to Prune, not at all for
// Usage, which only reads.
type GC struct {
	Content   *Store
	Index     *Index
	Snapshots Snapshots
	// CacheMounts holds RUN --mount=type=cache dirs, one per id.
	CacheMounts string
	// Scratch are glob patterns of temp entries that only a killed process
	// leaves behind once they are older than PruneOptions.StaleAge.
	Scratch []string
	// NotScratch are paths the Scratch globs match that are not scratch
	// (files a build keeps for the life of its process, e.g. <root>/tmp/etc).
	NotScratch []string
	// Roots lists what stored images and containers use; called once per
	// Usage or Prune.
	Roots func(ctx context.Context) (Roots, error)
}

// Entry is one cached layer: the records pointing at it (a step's key and
// its position's slot record share one layer), its blob and snapshot.
type Entry struct {
	ID          string // the layer's DiffID hex
	Keys        []string
	Layer       LayerInfo
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
	snapOrphan []v1.Hash
	blobOrphan []v1.Hash
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
func (g *GC) Usage(ctx context.Context) (*Usage, error) {
	roots, err := g.Roots(ctx)
	if err != nil {
		return nil, err
	}
	return g.usage(roots, nil)
}

// usage scans everything; staleBefore, if set, limits Scratch to entries
// older than it.
func (g *GC) usage(roots Roots, staleBefore *time.Time) (*Usage, error) {
	u := &Usage{}
	byLayer := map[v1.Hash]*Entry{}
	err := g.Index.WalkUsed(func(key string, r Result, used time.Time) error {
		e := byLayer[r.Layer.Digest]
		if e == nil {
			e = &Entry{ID: r.Layer.DiffID.Hex, Layer: r.Layer, Created: r.Created, LastUsed: used}
			e.Shared = roots.Blobs[r.Layer.Digest] || roots.DiffIDs[r.Layer.DiffID]
			e.Description = strings.ReplaceAll(r.Inputs["instruction"], "\x00", " ")
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
	recDiff := map[v1.Hash]bool{}
	for _, e := range byLayer {
		recDiff[e.Layer.DiffID] = true
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
	for _, e := range byLayer {
		u.Entries = append(u.Entries, *e)
	}
	sort.Slice(u.Entries, func(i, j int) bool {
		if !u.Entries[i].LastUsed.Equal(u.Entries[j].LastUsed) {
			return u.Entries[i].LastUsed.Before(u.Entries[j].LastUsed)
		}
		return u.Entries[i].ID < u.Entries[j].ID
	})

	err = g.Content.Walk(func(d v1.Hash, size int64) error {
		if !roots.Blobs[d] && byLayer[d] == nil {
			u.blobOrphan = append(u.blobOrphan, d)
			u.Orphans++
			u.OrphanSize += size
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	snaps, err := g.Snapshots.List()
	if err != nil {
		return nil, err
	}
	for _, d := range snaps {
		if !roots.DiffIDs[d] && !recDiff[d] {
			u.snapOrphan = append(u.snapOrphan, d)
			u.Orphans++
			if n, err := g.Snapshots.DiskUsage(d); err == nil {
				u.OrphanSize += n
			}
		}
	}
	if u.Mounts, err = g.mounts(); err != nil {
		return nil, err
	}
	for _, p := range g.scratch(staleBefore) {
		if n, err := DirUsage(p); err == nil {
			u.Scratch += n
		}
	}
	return u, nil
}

func (g *GC) mounts() ([]Mount, error) {
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
		if !e.IsDir() || !validHex(e.Name()) {
			continue
		}
		p := filepath.Join(g.CacheMounts, e.Name())
		n, _ := DirUsage(p)
		m := Mount{ID: e.Name(), Size: n}
		// The lock file is opened by every use of the mount.
		if fi, err := os.Stat(filepath.Join(p, "data")); err == nil {
			m.LastUsed = fi.ModTime()
		}
		out = append(out, m)
	}
	return out, nil
}

// scratch expands the Scratch globs, keeping entries older than before.
func (g *GC) scratch(before *time.Time) []string {
	var out []string
	for _, pat := range g.Scratch {
		ms, _ := filepath.Glob(pat)
		for _, m := range ms {
			if slices.Contains(g.NotScratch, m) {
				continue
			}
			fi, err := os.Lstat(m)
			if err != nil || (before != nil && !fi.ModTime().Before(*before)) {
				continue
			}
			out = append(out, m)
		}
	}
	return out
}

// PruneOptions select what Prune removes.
type PruneOptions struct {
	// All also removes records of layers images use (frees no bytes, but
	// forgets the keys) and every cache mount.
	All bool
	// KeepStorage, if > 0, stops once the cache is at most this big,
	// removing least recently used records first.
	KeepStorage int64
	// Until, if > 0, spares records, orphans and mounts used more recently.
	Until time.Duration
	// StaleAge is how old a scratch entry must be before it goes.
	StaleAge time.Duration
	// Now is the reference time (zero: time.Now()).
	Now time.Time
}

// PruneReport says what Prune removed.
type PruneReport struct {
	Records   []string // layer IDs (DiffID hex) whose records went
	Blobs     int
	Snapshots int
	Mounts    int
	Scratch   int
	Reclaimed int64
}

// Prune removes build cache. The caller must hold the GC lock
// exclusively: nothing is then in flight, so whatever no root and no kept
// record references is garbage. Records go first, then the blobs and
// snapshots that only they referenced, each removal atomic on its own, so
// an interrupted prune leaves a consistent (smaller) cache.
func (g *GC) Prune(ctx context.Context, o PruneOptions) (*PruneReport, error) {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	roots, err := g.Roots(ctx)
	if err != nil {
		return nil, err
	}
	stale := now.Add(-o.StaleAge)
	u, err := g.usage(roots, &stale)
	if err != nil {
		return nil, err
	}
	old := func(t time.Time) bool { return o.Until <= 0 || t.Before(now.Add(-o.Until)) }
	rep := &PruneReport{}
	total := u.Total()
	over := func() bool { return o.KeepStorage <= 0 || total > o.KeepStorage }

	for _, p := range g.scratch(&stale) {
		if mountedUnder(p) {
			continue
		}
		n, _ := DirUsage(p)
		if err := os.RemoveAll(p); err == nil {
			rep.Scratch++
			rep.Reclaimed += n
			total -= n
		}
	}
	// Orphans are garbage whatever the size limit; until spares recent ones.
	for _, d := range u.blobOrphan {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if !old(g.blobTime(d)) {
			continue
		}
		n, _ := g.Content.Size(d)
		if err := g.Content.Delete(d); err != nil {
			return rep, err
		}
		rep.Blobs++
		rep.Reclaimed += n
		total -= n
	}
	for _, d := range u.snapOrphan {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		n, _ := g.Snapshots.DiskUsage(d)
		if err := g.Snapshots.Delete(d); err != nil {
			return rep, err
		}
		rep.Snapshots++
		rep.Reclaimed += n
		total -= n
	}

	// Records, least recently used first.
	gone := map[v1.Hash]bool{}
	for _, e := range u.Entries {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if !over() || !old(e.LastUsed) || (e.Shared && !o.All) {
			continue
		}
		for _, k := range e.Keys {
			if err := g.Index.Delete(k); err != nil {
				return rep, err
			}
		}
		rep.Records = append(rep.Records, e.ID)
		if !e.Shared {
			gone[e.Layer.Digest] = true
			total -= e.Size
		}
	}
	// A removed record's blob and snapshot go unless a kept record (or a
	// root) still points at them.
	keptDiff := map[v1.Hash]bool{}
	for _, e := range u.Entries {
		if !gone[e.Layer.Digest] {
			keptDiff[e.Layer.DiffID] = true
		}
	}
	for _, e := range u.Entries {
		if !gone[e.Layer.Digest] {
			continue
		}
		if n, err := g.Content.Size(e.Layer.Digest); err == nil {
			if err := g.Content.Delete(e.Layer.Digest); err != nil {
				return rep, err
			}
			rep.Blobs++
			rep.Reclaimed += n
		}
		if keptDiff[e.Layer.DiffID] || roots.DiffIDs[e.Layer.DiffID] {
			continue
		}
		if n, err := g.Snapshots.DiskUsage(e.Layer.DiffID); err == nil {
			if err := g.Snapshots.Delete(e.Layer.DiffID); err != nil {
				return rep, err
			}
			rep.Snapshots++
			rep.Reclaimed += n
		}
	}

	if o.All {
		for _, m := range u.Mounts {
			if !old(m.LastUsed) {
				continue
			}
			if err := removeAside(filepath.Join(g.CacheMounts, m.ID)); err != nil {
				return rep, err
			}
			rep.Mounts++
			rep.Reclaimed += m.Size
		}
	}
	return rep, nil
}

func (g *GC) blobTime(d v1.Hash) time.Time {
	p, err := g.Content.path(d)
	if err != nil {
		return time.Time{}
	}
	fi, err := os.Stat(p)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// removeAside renames dir to a hidden sibling before deleting it, so the
// name is gone at once and a crash leaves only a hidden leftover.
func removeAside(dir string) error {
	tmp := filepath.Join(filepath.Dir(dir), ".gc-"+filepath.Base(dir))
	if err := os.Rename(dir, tmp); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return os.RemoveAll(tmp)
}

// mountedUnder reports whether anything is mounted at or below p: a
// killed build can leave an overlay mounted in an active snapshot, and
// RemoveAll must never descend into a mount.
func mountedUnder(p string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return true
	}
	p = filepath.Clean(p)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		if mp == p || strings.HasPrefix(mp, p+"/") {
			return true
		}
	}
	return false
}

// unescapeMount undoes mountinfo's octal escapes (\040 for space...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			ok := true
			for _, d := range s[i+1 : i+4] {
				if d < '0' || d > '7' {
					ok = false
				}
				c = c*8 + byte(d-'0')
			}
			if ok {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// DirUsage is the allocated size of a file or tree, each inode once.
func DirUsage(p string) (int64, error) {
	seen := map[uint64]bool{}
	var total int64
	err := filepath.WalkDir(p, func(q string, _ fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		var st unix.Stat_t
		if unix.Lstat(q, &st) != nil || seen[st.Ino] {
			return nil
		}
		seen[st.Ino] = true
		total += st.Blocks * 512
		return nil
	})
	return total, err
}
