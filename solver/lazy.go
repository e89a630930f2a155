package solver

import (
	"context"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/lade-build/lade/cache"
)

// A stage's layers are lazy, as BuildKit's refs from a remote cache are:
// a cache hit records only the layer's descriptor. Its blob is fetched
// from a --cache-from source when the image is exported or when its
// snapshot is needed, and a layer is unpacked only when a step has to run
// on top of it or read it (fsStep, view). A fully cached intermediate
// stage then costs no download and no unpacking at all.

// storedLayer is a layer step's result: its blob is in the content store
// or, for a hit imported with --cache-from, possibly still in a source.
type storedLayer struct {
	v1.Layer
	info cache.LayerInfo
}

// available tells whether a cached layer can be used: its blob is stored
// here or a --cache-from source lists it.
func (b *Builder) available(l cache.LayerInfo) bool {
	return b.Content.Has(l.Digest) || b.Remote.Has(l.Digest)
}

// fetchBlob brings l's blob into the content store if it is a cache hit
// whose blob is still remote, and reports whether it did; other layers
// are left alone.
func (b *Builder) fetchBlob(ctx context.Context, l v1.Layer) (bool, error) {
	sl, ok := l.(storedLayer)
	if !ok || b.Content.Has(sl.info.Digest) {
		return false, nil
	}
	if b.Remote == nil {
		return false, fmt.Errorf("cached layer %s is gone from the content store", sl.info.Digest)
	}
	return true, b.Remote.Fetch(ctx, sl.info)
}

// fetchBlobs fetches the remote blobs of layers (an image to export).
// Fetching checks a blob's digest; a blob that is not unpacked is also
// decompressed once, so the diffID the cache claims for it is checked
// before it goes into an image config.
func (bd *build) fetchBlobs(ctx context.Context, layers []v1.Layer) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, l := range layers {
		l := l
		g.Go(func() error {
			fetched, err := bd.b.fetchBlob(gctx, l)
			if err != nil || !fetched {
				return err
			}
			return checkDiffID(l)
		})
	}
	return g.Wait()
}

// checkDiffID reads l uncompressed; its reader fails on a wrong diffID.
func checkDiffID(l v1.Layer) error {
	rc, err := l.Uncompressed()
	if err == nil {
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
	}
	if err != nil {
		d, _ := l.Digest()
		return fmt.Errorf("cached layer %s: %w", d, err)
	}
	return nil
}

// ensureSnapshots unpacks every layer of a chain that has no snapshot
// yet, fetching its blob first when needed. what names the chain in
// progress lines. Concurrent stages needing one layer share one unpack.
func (bd *build) ensureSnapshots(ctx context.Context, what string, layers []v1.Layer, diffIDs []v1.Hash) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, l := range layers {
		id := diffIDs[i]
		if bd.b.Snapshots.Has(id) {
			continue
		}
		l := l
		g.Go(func() error {
			_, err, _ := bd.sh.unpacks.Do(id.String(), func() (any, error) {
				return nil, bd.unpack(gctx, what, l, id)
			})
			return err
		})
	}
	return g.Wait()
}

func (bd *build) unpack(ctx context.Context, what string, l v1.Layer, id v1.Hash) error {
	if bd.b.Snapshots.Has(id) {
		return nil
	}
	step := bd.o.Progress.Start(fmt.Sprintf("[internal] unpack %s layer %s", what, shortDigest(id)))
	_, err := bd.b.fetchBlob(ctx, l)
	if err == nil {
		var rc io.ReadCloser
		if rc, err = l.Uncompressed(); err == nil {
			err = bd.b.Snapshots.Unpack(ctx, id, rc)
			rc.Close()
		}
	}
	step.Done(true, err)
	if err != nil {
		return fmt.Errorf("unpacking layer %s of %s: %w", id, what, err)
	}
	return nil
}
