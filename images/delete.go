package images

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/events"
)

// User is a container that uses an image, as image removal sees it.
type User struct {
	ID      string // the container's ID
	Running bool
}

// Removed is what a Delete did, as rmi prints it.
type Removed struct {
	Untagged []string // familiar names
	Deleted  v1.Hash  // the image ID, zero when the image stays
}

// Delete is docker's rmi of ref, a name or an image ID, digest or prefix.
// users lists the containers that use an image ID (config digest).
//
// Docker's rules: a name is removed unless it is the image's last one
// and a container uses the image (force removes it, and the image stays,
// untagged, while a container uses it). By ID, the image goes with all
// its names, except while a running container uses it (even with force)
// or, without force, a stopped one does or it has names in several
// repositories.
func (s *Store) Delete(ctx context.Context, ref string, force bool, users func(imageID v1.Hash) []User) (Removed, error) {
	removed, err := s.delete(ctx, ref, force, users)
	if err != nil {
		return removed, err
	}
	for _, n := range removed.Untagged {
		s.event(events.ActionUnTag, n, nil)
	}
	if removed.Deleted != (v1.Hash{}) {
		s.event(events.ActionDelete, removed.Deleted.String(), nil)
	}
	return removed, nil
}

func (s *Store) delete(ctx context.Context, ref string, force bool, users func(imageID v1.Hash) []User) (Removed, error) {
	release, err := s.content.HoldGC(ctx)
	if err != nil {
		return Removed{}, err
	}
	defer release() // a prune would take the index's temp file
	idx, d, err := s.lookup(ref)
	if err != nil {
		return Removed{}, err
	}
	id, using := idx.usersOf(d.String(), users)
	names := namesOf(idx, d.String())

	if canonical, err := normalize(ref); err == nil && !strings.HasPrefix(ref, "sha256:") && idx.Refs[canonical] == d.String() {
		last := len(names) == 1
		if last && !force && len(using) > 0 {
			return Removed{}, fmt.Errorf("conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s",
				ref, short(using[0].ID), short(id.Hex))
		}
		removed := Removed{Untagged: []string{familiar(canonical)}}
		keep := !last || len(using) > 0 || idx.isChild(d.String())
		if !keep {
			removed.Deleted = id
		}
		return removed, s.update(func(idx *index) error {
			delete(idx.Refs, canonical)
			if !keep && len(namesOf(idx, d.String())) == 0 {
				idx.drop(d.String())
			}
			return nil
		})
	}

	if idx.isChild(d.String()) {
		return Removed{}, fmt.Errorf("conflict: unable to delete %s - it is one platform of a multi-platform image; remove that image instead", short(d.Hex))
	}
	for _, u := range using {
		if u.Running {
			return Removed{}, fmt.Errorf("conflict: unable to delete %s (cannot be forced) - image is being used by running container %s", short(id.Hex), short(u.ID))
		}
	}
	if !force {
		if len(using) > 0 {
			return Removed{}, fmt.Errorf("conflict: unable to delete %s (must be forced) - image is being used by stopped container %s", short(id.Hex), short(using[0].ID))
		}
		if len(names) > 1 {
			return Removed{}, fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", short(id.Hex))
		}
	}
	removed := Removed{Deleted: id}
	for _, n := range names {
		removed.Untagged = append(removed.Untagged, familiar(n))
	}
	return removed, s.update(func(idx *index) error {
		for _, n := range namesOf(idx, d.String()) {
			delete(idx.Refs, n)
		}
		idx.drop(d.String())
		return nil
	})
}

func short(hex string) string {
	if len(hex) > 12 {
		return hex[:12]
	}
	return hex
}

// usersOf is the ID rmi prints for manifest d (an image's config digest,
// an index's own digest) and the containers using it or, for an index,
// any of its images.
func (ix *index) usersOf(d string, users func(imageID v1.Hash) []User) (v1.Hash, []User) {
	var using []User
	for _, id := range ix.imageIDs(d, 0) {
		using = append(using, users(id)...)
	}
	id, err := v1.NewHash(ix.Images[d].Config)
	if _, isIndex := ix.Indexes[d]; isIndex || err != nil {
		id, _ = v1.NewHash(d)
	}
	return id, using
}

// imageIDs are the image IDs (config digests) of manifest d: its own, or
// those of all an index's images.
func (ix *index) imageIDs(d string, depth int) []v1.Hash {
	rec, ok := ix.Indexes[d]
	if !ok {
		id, err := v1.NewHash(ix.Images[d].Config)
		if err != nil {
			id, _ = v1.NewHash(d)
		}
		return []v1.Hash{id}
	}
	var ids []v1.Hash
	for _, c := range rec.Manifests {
		if depth < maxIndexDepth {
			ids = append(ids, ix.imageIDs(c, depth+1)...)
		}
	}
	return ids
}

// ImageIDs are the image IDs a container may use of the stored image
// ref: its own, or every one of an index's images.
func (s *Store) ImageIDs(ref string) ([]v1.Hash, error) {
	ix, d, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	return ix.imageIDs(d.String(), 0), nil
}
