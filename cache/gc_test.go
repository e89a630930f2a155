package cache

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
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

func TestPrune(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	// Three cached layers: "old" (used 10h ago), "new" (1h ago) and
	// "image" (used by a stored image); plus one orphan blob.
	type layer struct {
		name string
		age  time.Duration
		size int
	}
	layers := []layer{{"old", 10 * time.Hour, 3000}, {"new", time.Hour, 2000}, {"image", 5 * time.Hour, 1000}}
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
			dir := t.TempDir()
			cs, err := Open(filepath.Join(dir, "content"))
			if err != nil {
				t.Fatal(err)
			}
			ix, err := OpenIndex(filepath.Join(dir, "keys"))
			if err != nil {
				t.Fatal(err)
			}
			snaps := fakeSnaps{}
			roots := Roots{Blobs: map[v1.Hash]bool{}, DiffIDs: map[v1.Hash]bool{}}
			byName := map[string]LayerInfo{}
			ctx := context.Background()
			for i, l := range layers {
				info, err := cs.WriteLayer(ctx, bytes.NewReader(bytes.Repeat([]byte{byte(i + 1)}, l.size)), Uncompressed)
				if err != nil {
					t.Fatal(err)
				}
				byName[l.name] = info
				snaps[info.DiffID] = int64(l.size)
				key := fmt.Sprintf("sha256:%064x", i+1)
				if err := ix.Put(key, Result{Layer: info, Inputs: map[string]string{"instruction": l.name}}); err != nil {
					t.Fatal(err)
				}
				p, _ := ix.file(key)
				os.Chtimes(p, now.Add(-l.age), now.Add(-l.age))
				if l.name == "image" {
					roots.Blobs[info.Digest], roots.DiffIDs[info.DiffID] = true, true
				}
			}
			orphan, err := cs.PutBytes(ctx, []byte("orphan"))
			if err != nil {
				t.Fatal(err)
			}
			p, _ := cs.path(orphan)
			os.Chtimes(p, now.Add(-3*time.Hour), now.Add(-3*time.Hour))

			g := &GC{Content: cs, Index: ix, Snapshots: snaps, Roots: func(context.Context) (Roots, error) { return roots, nil }}
			tc.opts.Now = now
			if _, err := g.Prune(ctx, tc.opts); err != nil {
				t.Fatal(err)
			}
			var kept []string
			ix.Walk(func(_ string, r Result) error {
				kept = append(kept, r.Inputs["instruction"])
				return nil
			})
			sort.Strings(kept)
			if fmt.Sprint(kept) != fmt.Sprint(tc.kept) {
				t.Errorf("kept records %v, want %v", kept, tc.kept)
			}
			// A layer's blob and snapshot stay exactly when a record or a
			// root still needs them; the image's always do.
			for name, info := range byName {
				want := roots.Blobs[info.Digest]
				for _, k := range kept {
					want = want || k == name
				}
				if cs.Has(info.Digest) != want {
					t.Errorf("layer %s: blob present %v, want %v", name, cs.Has(info.Digest), want)
				}
				if _, has := snaps[info.DiffID]; has != want {
					t.Errorf("layer %s: snapshot present %v, want %v", name, has, want)
				}
			}
			if cs.Has(orphan) == tc.orphanGo {
				t.Errorf("orphan blob present %v, want %v", cs.Has(orphan), !tc.orphanGo)
			}
		})
	}
}

func TestGCLock(t *testing.T) {
	cs, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r1, err := cs.HoldGC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := cs.HoldGC(ctx) // shared holders coexist
	if err != nil {
		t.Fatal(err)
	}
	if !cs.GCBusy() {
		t.Fatal("GCBusy false while builds hold the lock")
	}
	waited := make(chan struct{})
	got := make(chan func())
	go func() {
		unlock, err := cs.LockGC(ctx, func() { close(waited) })
		if err != nil {
			t.Error(err)
		}
		got <- unlock
	}()
	<-waited // the exclusive lock must wait for both holders
	r1()
	r2()
	unlock := <-got
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := cs.HoldGC(cctx); err == nil {
		t.Fatal("HoldGC got the lock while a collection holds it")
	}
	unlock()
	if cs.GCBusy() {
		t.Fatal("GCBusy true after every holder left")
	}
}
