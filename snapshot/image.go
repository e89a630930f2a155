package snapshot

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// UnpackImage makes sure every layer of img is a committed snapshot,
// unpacking the missing ones, and returns the chain of DiffIDs, bottom
// first, for Lowers.
func (s *Snapshotter) UnpackImage(ctx context.Context, img v1.Image) ([]v1.Hash, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	var ids []v1.Hash
	for _, l := range layers {
		id, err := l.DiffID()
		if err != nil {
			return nil, err
		}
		if !s.Has(id) {
			rc, err := l.Uncompressed()
			if err != nil {
				return nil, err
			}
			err = s.Unpack(ctx, id, rc)
			rc.Close()
			if err != nil {
				return nil, fmt.Errorf("unpacking layer %s: %w", id, err)
			}
		}
		ids = append(ids, id)
	}
	return ids, nil
}
