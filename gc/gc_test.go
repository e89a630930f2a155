package gc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/internal/testroot"
)

// fakeSnaps is an in-memory snapshotter: DiffID -> size.
type fakeSnaps map[v1.Hash]int64

func (f fakeSnaps) List() ([]v1.Hash, error) {
	var out []v1.Hash
	for d := range f {
		out = append(out, d)
	}
	return out, nil
}

func (f fakeSnaps) DiskUsage(d v1.Hash) (int64, error) {
	if n, ok := f[d]; ok {
		return n, nil
	}
	return 0, os.ErrNotExist
}

func (f fakeSnaps) Delete(d v1.Hash) error { delete(f, d); return nil }

// pruneFixture is a root with three cached layers: "old" (used 10h
// before now), "new" (1h) and "image" (used by a stored image, so in
// roots); plus one orphan blob, 3h old.
type pruneFixture struct {
	cs     *cache.Store
	ix     *cache.Index
	snaps  fakeSnaps
	roots  Roots
	layers map[string]cache.LayerInfo
	orphan v1.Hash
}

func newPruneFixture(t *testing.T, now time.Time) *pruneFixture {
	dir := t.TempDir()
	f := &pruneFixture{snaps: fakeSnaps{}, roots: NewRoots(), layers: map[string]cache.LayerInfo{}}
	f.cs, f.ix = testroot.OpenCache(t, dir)
	ctx := context.Background()
	for i, l := range []struct {
		name string
		age  time.Duration
		size int
	}{{"old", 10 * time.Hour, 3000}, {"new", time.Hour, 2000}, {"image", 5 * time.Hour, 1000}} {
		info, err := f.cs.WriteLayer(ctx, bytes.NewReader(bytes.Repeat([]byte{byte(i + 1)}, l.size)), cache.Uncompressed)
		if err != nil {
			t.Fatal(err)
		}
		f.layers[l.name] = info
		f.snaps[info.DiffID] = int64(l.size)
		key := fmt.Sprintf("sha256:%064x", i+1)
		if err := f.ix.Put(key, cache.Result{Layer: info, Inputs: map[string]string{"instruction": l.name}}); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "keys", fmt.Sprintf("%064x.json", i+1))
		os.Chtimes(p, now.Add(-l.age), now.Add(-l.age))
		if l.name == "image" {
			f.roots.Blobs[info.Digest], f.roots.DiffIDs[info.DiffID] = true, true
		}
	}
	var err error
	if f.orphan, err = f.cs.PutBytes(ctx, []byte("orphan")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "content", "blobs", "sha256", f.orphan.Hex)
	os.Chtimes(p, now.Add(-3*time.Hour), now.Add(-3*time.Hour))
	return f
}

func TestPrune(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		opts     PruneOptions
		kept     []string // layers whose records remain
		orphanGo bool
	}{
		{name: "default", kept: []string{"image"}, orphanGo: true},
		{name: "all", opts: PruneOptions{All: true}, kept: nil, orphanGo: true},
		{name: "until 4h", opts: PruneOptions{Until: 4 * time.Hour}, kept: []string{"image", "new"}, orphanGo: false},
		{name: "keep-storage", opts: PruneOptions{KeepStorage: 5000}, kept: []string{"image", "new"}, orphanGo: true},
		{name: "keep-storage big", opts: PruneOptions{KeepStorage: 1 << 30}, kept: []string{"image", "new", "old"}, orphanGo: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newPruneFixture(t, now)
			g := &Collector{Content: f.cs, Index: f.ix, Snapshots: f.snaps, Roots: func(context.Context) (Roots, error) { return f.roots, nil }}
			tc.opts.Now = now
			if _, err := g.Prune(context.Background(), tc.opts); err != nil {
				t.Fatal(err)
			}
			var kept []string
			f.ix.Walk(func(_ string, r cache.Result) error {
				kept = append(kept, r.Inputs["instruction"])
				return nil
			})
			sort.Strings(kept)
			if fmt.Sprint(kept) != fmt.Sprint(tc.kept) {
				t.Errorf("kept records %v, want %v", kept, tc.kept)
			}
			// A layer's blob and snapshot stay exactly when a record or a
			// root still needs them; the image's always do.
			for name, info := range f.layers {
				want := f.roots.Blobs[info.Digest] || slices.Contains(kept, name)
				if f.cs.Has(info.Digest) != want {
					t.Errorf("layer %s: blob present %v, want %v", name, f.cs.Has(info.Digest), want)
				}
				if _, has := f.snaps[info.DiffID]; has != want {
					t.Errorf("layer %s: snapshot present %v, want %v", name, has, want)
				}
			}
			if f.cs.Has(f.orphan) == tc.orphanGo {
				t.Errorf("orphan blob present %v, want %v", f.cs.Has(f.orphan), !tc.orphanGo)
			}
		})
	}
}

// scratchList is a store whose temp entries are the paths it holds.
type scratchList []string

func (s scratchList) Scratch() []string { return s }

// Prune removes the stale temp entries each store reports and those of
// cache mount users, and keeps young ones, a mount's data and lock.
func TestPruneScratch(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	mount := filepath.Join(dir, "cachemounts", fmt.Sprintf("%064x", 1))
	tests := []struct {
		path string
		age  time.Duration
		gone bool
	}{
		{filepath.Join(dir, "store", "put-1"), time.Hour, true},
		{filepath.Join(dir, "store", "put-2"), time.Minute, false},
		{filepath.Join(mount, "seed-1"), time.Hour, true},
		{filepath.Join(mount, "init-1"), time.Hour, true},
		{filepath.Join(mount, "private-1"), time.Hour, true},
		{filepath.Join(mount, "data"), time.Hour, false},
		{filepath.Join(mount, "lock"), time.Hour, false},
		{filepath.Join(dir, "cachemounts", asidePrefix+"x"), time.Hour, true},
	}
	var store scratchList
	for _, tt := range tests {
		if err := os.MkdirAll(tt.path, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(tt.path, now.Add(-tt.age), now.Add(-tt.age)); err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(tt.path) == filepath.Join(dir, "store") {
			store = append(store, tt.path)
		}
	}
	cs, ix := testroot.OpenCache(t, dir)
	g := &Collector{
		Content: cs, Index: ix, Snapshots: fakeSnaps{},
		CacheMounts: filepath.Join(dir, "cachemounts"),
		Scratch:     []cache.Scratcher{store},
		Roots:       func(context.Context) (Roots, error) { return Roots{}, nil },
	}
	rep, err := g.Prune(context.Background(), PruneOptions{StaleAge: 10 * time.Minute, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if _, err := os.Lstat(tt.path); os.IsNotExist(err) != tt.gone {
			t.Errorf("%s: removed %v, want %v", tt.path, os.IsNotExist(err), tt.gone)
		}
	}
	if rep.Scratch != 5 {
		t.Errorf("report counts %d scratch entries, want 5", rep.Scratch)
	}
}

func TestRootsAddImage(t *testing.T) {
	img, err := random.Image(64, 2)
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	m, _ := img.Manifest()
	cfg, _ := img.ConfigFile()
	r := NewRoots()
	if err := r.AddImage(digest, img); err != nil {
		t.Fatal(err)
	}
	r.AddLowers([]string{"/root/snapshots/layers/" + fmt.Sprintf("%064x", 7) + "/fs"})
	blobs := []v1.Hash{digest, m.Config.Digest, m.Layers[0].Digest, m.Layers[1].Digest}
	diffs := append(cfg.RootFS.DiffIDs, v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064x", 7)})
	for _, d := range blobs {
		if !r.Blobs[d] {
			t.Errorf("blob %s not kept", d)
		}
	}
	for _, d := range diffs {
		if !r.DiffIDs[d] {
			t.Errorf("snapshot %s not kept", d)
		}
	}
	if len(r.Blobs) != len(blobs) || len(r.DiffIDs) != len(diffs) {
		t.Errorf("roots hold %d blobs and %d snapshots, want %d and %d", len(r.Blobs), len(r.DiffIDs), len(blobs), len(diffs))
	}
}

// A cache mount's size is its data: a user's temp dir beside it is
// scratch, counted once (system df counted it twice).
func TestUsageCountsMountScratchOnce(t *testing.T) {
	dir := t.TempDir()
	mount := filepath.Join(dir, "cachemounts", fmt.Sprintf("%064x", 1))
	for p, n := range map[string]int{"data/f": 1 << 20, "private-1/f": 3 << 20} {
		p = filepath.Join(mount, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cs, ix := testroot.OpenCache(t, dir)
	g := &Collector{
		Content: cs, Index: ix, Snapshots: fakeSnaps{},
		CacheMounts: filepath.Join(dir, "cachemounts"),
		Roots:       func(context.Context) (Roots, error) { return Roots{}, nil },
	}
	u, err := g.Usage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Mounts) != 1 || u.Mounts[0].Size >= 2<<20 {
		t.Errorf("mounts = %+v, want one of about 1 MiB", u.Mounts)
	}
	if u.Scratch < 3<<20 {
		t.Errorf("scratch = %d, want the private dir's 3 MiB", u.Scratch)
	}
	if tot := u.Total(); tot >= 5<<20 {
		t.Errorf("total = %d, counts the private dir twice", tot)
	}
}
