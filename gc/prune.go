package gc

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/internal/du"
)

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
	// OrphansOnly removes only unreferenced blobs and snapshots (what
	// removed images leave) and stale temp files, keeping every record:
	// image prune, which leaves the build cache alone.
	OrphansOnly bool
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

// pruning is the state of one Prune.
type pruning struct {
	g     *Collector
	o     PruneOptions
	now   time.Time
	roots Roots
	u     *Usage
	rep   *PruneReport
	total int64 // what the cache still holds
}

// Prune removes build cache. The caller must hold the GC lock
// exclusively: nothing is then in flight, so whatever no root and no kept
// record references is garbage. Records go first, then the blobs and
// snapshots that only they referenced, each removal atomic on its own, so
// an interrupted prune leaves a consistent (smaller) cache.
func (g *Collector) Prune(ctx context.Context, o PruneOptions) (*PruneReport, error) {
	p := &pruning{g: g, o: o, now: o.Now, rep: &PruneReport{}}
	if p.now.IsZero() {
		p.now = time.Now()
	}
	var err error
	if p.roots, err = g.Roots(ctx); err != nil {
		return nil, err
	}
	stale := p.now.Add(-o.StaleAge)
	if p.u, err = g.usage(p.roots, &stale); err != nil {
		return nil, err
	}
	p.total = p.u.Total()
	p.scratch(stale)
	if err := p.orphans(ctx); err != nil || o.OrphansOnly {
		return p.rep, err
	}
	gone, err := p.records(ctx)
	if err != nil {
		return p.rep, err
	}
	if err := p.recordLayers(gone); err != nil {
		return p.rep, err
	}
	if o.All {
		return p.rep, p.mounts()
	}
	return p.rep, nil
}

// old reports whether t is before the Until cut-off (always, without one).
func (p *pruning) old(t time.Time) bool {
	return p.o.Until <= 0 || t.Before(p.now.Add(-p.o.Until))
}

// freed counts n bytes removed.
func (p *pruning) freed(n int64) {
	p.rep.Reclaimed += n
	p.total -= n
}

// scratch removes the temp entries older than stale, never descending into
// a mount.
func (p *pruning) scratch(stale time.Time) {
	for _, s := range p.g.scratch(&stale) {
		if mountedUnder(s) {
			continue
		}
		n, _ := du.Size(s)
		if err := os.RemoveAll(s); err == nil {
			p.rep.Scratch++
			p.freed(n)
		}
	}
}

// orphans removes unreferenced blobs and snapshots: garbage whatever the
// size limit; Until spares recent blobs.
func (p *pruning) orphans(ctx context.Context) error {
	for _, o := range p.u.blobOrphan {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !p.old(p.g.blobTime(o.d)) {
			continue
		}
		if err := p.g.Content.Delete(o.d); err != nil {
			return err
		}
		p.rep.Blobs++
		p.freed(o.size)
	}
	for _, o := range p.u.snapOrphan {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.g.Snapshots.Delete(o.d); err != nil {
			return err
		}
		p.rep.Snapshots++
		p.freed(o.size)
	}
	return nil
}

// records forgets the keys of entries, least recently used first, while
// the cache is over KeepStorage; it returns the layers that no longer
// have a record.
func (p *pruning) records(ctx context.Context) (map[v1.Hash]bool, error) {
	gone := map[v1.Hash]bool{}
	for _, e := range p.u.Entries {
		if err := ctx.Err(); err != nil {
			return gone, err
		}
		over := p.o.KeepStorage <= 0 || p.total > p.o.KeepStorage
		if !over || !p.old(e.LastUsed) || (e.Shared && !p.o.All) {
			continue
		}
		for _, k := range e.Keys {
			if err := p.g.Index.Delete(k); err != nil {
				return gone, err
			}
		}
		p.rep.Records = append(p.rep.Records, e.ID)
		if !e.Shared {
			gone[e.Layer.Digest] = true
			p.total -= e.Size
		}
	}
	return gone, nil
}

// recordLayers removes the blob and snapshot of each gone layer, unless a
// kept record (or a root) still points at the snapshot.
func (p *pruning) recordLayers(gone map[v1.Hash]bool) error {
	keptDiff := map[v1.Hash]bool{}
	for _, e := range p.u.Entries {
		if !gone[e.Layer.Digest] {
			keptDiff[e.Layer.DiffID] = true
		}
	}
	for _, e := range p.u.Entries {
		if !gone[e.Layer.Digest] {
			continue
		}
		if err := p.remove(&p.rep.Blobs, e.Layer.Digest, p.g.Content.Size, p.g.Content.Delete); err != nil {
			return err
		}
		if keptDiff[e.Layer.DiffID] || p.roots.DiffIDs[e.Layer.DiffID] {
			continue
		}
		if err := p.remove(&p.rep.Snapshots, e.Layer.DiffID, p.g.Snapshots.DiskUsage, p.g.Snapshots.Delete); err != nil {
			return err
		}
	}
	return nil
}

// remove deletes d if size finds it, counting it in *count and its bytes
// as reclaimed (the cache total already left them out with the record).
func (p *pruning) remove(count *int, d v1.Hash, size func(v1.Hash) (int64, error), del func(v1.Hash) error) error {
	n, err := size(d)
	if err != nil {
		return nil // already gone
	}
	if err := del(d); err != nil {
		return err
	}
	*count++
	p.rep.Reclaimed += n
	return nil
}

// mounts removes the cache mounts Until does not spare.
func (p *pruning) mounts() error {
	for _, m := range p.u.Mounts {
		if !p.old(m.LastUsed) {
			continue
		}
		if err := removeAside(filepath.Join(p.g.CacheMounts, m.ID)); err != nil {
			return err
		}
		p.rep.Mounts++
		p.rep.Reclaimed += m.Size
	}
	return nil
}

func (g *Collector) blobTime(d v1.Hash) time.Time {
	fi, err := g.Content.Stat(d)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// asidePrefix marks a directory removeAside is deleting.
const asidePrefix = ".gc-"

// removeAside renames dir to a hidden sibling before deleting it, so the
// name is gone at once and a crash leaves only a hidden leftover.
func removeAside(dir string) error {
	tmp := filepath.Join(filepath.Dir(dir), asidePrefix+filepath.Base(dir))
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
