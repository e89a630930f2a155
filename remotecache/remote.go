package remotecache

import (
	"context"
	"fmt"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/singleflight"

	"github.com/lade-build/lade/cache"
)

// Remote is the set of imported build caches (--cache-from). Importing
// one reads only its manifest and config: a layer blob stays in its
// registry or directory until a build needs it, and is then copied into
// the store, checked against its digest and size (BuildKit's remote cache
// keeps its blobs lazy the same way).
type Remote struct {
	store   *cache.Store
	mu      sync.Mutex
	sources []v1.Image
	layers  map[v1.Hash]bool // layer digests some source lists
	flight  singleflight.Group
}

// NewRemote returns an empty set of sources whose blobs go into s.
func NewRemote(s *cache.Store) *Remote {
	return &Remote{store: s, layers: map[v1.Hash]bool{}}
}

// Add reads img's records and makes the layers its manifest lists
// fetchable. No layer blob is read.
func (r *Remote) Add(img v1.Image) ([]cache.Record, []MountRecord, error) {
	recs, mounts, err := ReadImage(img)
	if err != nil {
		return nil, nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, nil, fmt.Errorf("reading cache manifest: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sources = append(r.sources, img)
	for _, l := range m.Layers {
		r.layers[l.Digest] = true
	}
	return recs, mounts, nil
}

// Has reports whether a source lists blob d. A nil Remote has nothing.
func (r *Remote) Has(d v1.Hash) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.layers[d]
}

// Fetch copies the blob of l from the first source that serves it into
// the store, unless the store has it. Concurrent fetches of one blob
// share a single download.
func (r *Remote) Fetch(ctx context.Context, l cache.LayerInfo) error {
	if r.store.Has(l.Digest) {
		return nil
	}
	if !r.Has(l.Digest) {
		return fmt.Errorf("layer %s is in no cache source", l.Digest)
	}
	r.mu.Lock()
	sources := append([]v1.Image(nil), r.sources...)
	r.mu.Unlock()
	_, err, _ := r.flight.Do(l.Digest.String(), func() (any, error) {
		var last error
		for _, img := range sources {
			if last = r.fetchFrom(ctx, img, l); last == nil {
				return nil, nil
			}
		}
		return nil, fmt.Errorf("fetching cached layer %s: %w", l.Digest, last)
	})
	return err
}

func (r *Remote) fetchFrom(ctx context.Context, img v1.Image, l cache.LayerInfo) error {
	layer, err := img.LayerByDigest(l.Digest)
	if err != nil {
		return err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, _, err = r.store.Put(ctx, rc, l.Digest, l.Size)
	return err
}
