package images

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Usage is what the images take in the content store, as system df
// shows it.
type Usage struct {
	Total, Active     int   // images, and those a container uses
	Size, Reclaimable int64 // bytes; reclaimable is held by unused images only
}

// DiskUsage counts every blob of every image once; used holds the config
// digests (image IDs) of the images containers use.
func (s *Store) DiskUsage(ctx context.Context, used map[string]bool) (Usage, error) {
	var u Usage
	list, err := s.List(ctx)
	if err != nil {
		return u, err
	}
	sizes := map[v1.Hash]int64{}
	keep := map[v1.Hash]bool{}
	for _, e := range list {
		u.Total++
		blobs, id, err := s.blobSizes(ctx, e.Digest)
		if err != nil {
			continue
		}
		inUse := used[id.String()]
		if inUse {
			u.Active++
		}
		for d, n := range blobs {
			sizes[d] = n
			keep[d] = keep[d] || inUse
		}
	}
	for d, n := range sizes {
		u.Size += n
		if !keep[d] {
			u.Reclaimable += n
		}
	}
	return u, nil
}

// blobSizes are the sizes of the manifest d, its config and its layers,
// and the image's config digest.
func (s *Store) blobSizes(ctx context.Context, d v1.Hash) (map[v1.Hash]int64, v1.Hash, error) {
	img, err := s.Get(ctx, d.String())
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
