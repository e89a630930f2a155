package images

import (
	"context"
	"fmt"
	"maps"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Usage is what the images take in the content store, as system df
// shows it.
type Usage struct {
	Total, Active     int   // images, and those a container uses
	Size, Reclaimable int64 // bytes; reclaimable is held by unused images only
	// Images are the listed images' parts, by manifest digest.
	Images map[v1.Hash]ImageUsage
}

// ImageUsage is one image's part of a Usage: the bytes of its blobs, and
// of those charged to another image (docker's Size and SharedSize).
type ImageUsage struct {
	Size, Shared int64
}

// imageBlobs are an image's blobs and whether a container uses it.
type imageBlobs struct {
	digest v1.Hash
	blobs  map[v1.Hash]int64
	inUse  bool
}

// DiskUsage counts every blob of every image once; used holds the config
// digests (image IDs) of the images containers use. Each blob is charged
// to one image, those containers use first, and is shared for the
// others: the images' Size - Shared then add up to the totals whichever
// way docker's clients add them (the used ones' to what is kept, the
// others' to what is reclaimable).
func (s *Store) DiskUsage(ctx context.Context, used map[string]bool) (Usage, error) {
	u := Usage{Images: map[v1.Hash]ImageUsage{}}
	list, err := s.List(ctx)
	if err != nil {
		return u, err
	}
	ix, err := s.read()
	if err != nil {
		return u, err
	}
	var parts []imageBlobs
	for _, e := range list {
		u.Total++
		blobs, ids, err := s.blobSizes(ctx, ix, e.Digest, 0)
		if err != nil {
			continue
		}
		inUse := slices.ContainsFunc(ids, func(id v1.Hash) bool { return used[id.String()] })
		if inUse {
			u.Active++
		}
		parts = append(parts, imageBlobs{e.Digest, blobs, inUse})
	}
	// The used first, in the list's order.
	slices.SortStableFunc(parts, func(a, b imageBlobs) int {
		switch {
		case a.inUse == b.inUse:
			return 0
		case a.inUse:
			return -1
		}
		return 1
	})
	charged := map[v1.Hash]bool{}
	for _, p := range parts {
		var iu ImageUsage
		for d, n := range p.blobs {
			iu.Size += n
			if charged[d] {
				iu.Shared += n
				continue
			}
			charged[d] = true
			u.Size += n
			if !p.inUse {
				u.Reclaimable += n
			}
		}
		u.Images[p.digest] = iu
	}
	return u, nil
}

// blobSizes are the sizes of the manifest d, its config and its layers,
// and the image's config digest; for an index, those of all its
// children, and their config digests.
func (s *Store) blobSizes(ctx context.Context, ix *index, d v1.Hash, depth int) (map[v1.Hash]int64, []v1.Hash, error) {
	rec, ok := ix.Indexes[d.String()]
	if !ok {
		blobs, id, err := s.imageBlobSizes(ctx, d)
		return blobs, []v1.Hash{id}, err
	}
	if depth > maxIndexDepth {
		return nil, nil, fmt.Errorf("indexes nested more than %d deep", maxIndexDepth)
	}
	blobs := map[v1.Hash]int64{d: 0}
	if n, err := s.content.Size(d); err == nil {
		blobs[d] = n
	}
	var ids []v1.Hash
	for _, c := range rec.Manifests {
		h, err := v1.NewHash(c)
		if err != nil {
			return nil, nil, err
		}
		cb, cids, err := s.blobSizes(ctx, ix, h, depth+1)
		if err != nil {
			continue // a platform not stored
		}
		maps.Copy(blobs, cb)
		ids = append(ids, cids...)
	}
	return blobs, ids, nil
}

// imageBlobSizes is blobSizes of image manifest d.
func (s *Store) imageBlobSizes(ctx context.Context, d v1.Hash) (map[v1.Hash]int64, v1.Hash, error) {
	img, err := s.load(ctx, d)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, v1.Hash{}, err
	}
	blobs := map[v1.Hash]int64{d: 0, m.Config.Digest: m.Config.Size}
	for _, l := range m.Layers {
		blobs[l.Digest] = l.Size
	}
	if n, err := s.content.Size(d); err == nil {
		blobs[d] = n
	}
	return blobs, m.Config.Digest, nil
}
