package container

import (
	"context"

	"github.com/lade-build/lade/internal/du"
	"github.com/lade-build/lade/internal/prunefilter"
)

// Usage is what containers or volumes take on disk, as system df shows
// it.
type Usage struct {
	Total, Active     int   // running containers, volumes in use
	Size, Reclaimable int64 // bytes; reclaimable is what the inactive hold
	Items             []UsageItem
}

// UsageItem is one container's or volume's part of a Usage.
type UsageItem struct {
	Name string // a container's ID, a volume's name
	Size int64
	Refs int // 1 for a running container; a volume's containers
}

// DiskUsage measures the writable layers of ctrs (the store's List) and
// returns the image IDs they use.
func (s *Store) DiskUsage(ctrs []*Container) (Usage, map[string]bool) {
	u := Usage{Total: len(ctrs)}
	used := map[string]bool{}
	for _, c := range ctrs {
		used[c.ImageID] = true
		upper, _, _, _ := s.rootfsDirs(c.ID)
		n, _ := du.Size(upper)
		refs := 0
		if s.Running(c.ID) {
			refs = 1
		}
		u.add(UsageItem{c.ID, n, refs})
	}
	return u, used
}

// VolumeUsage measures the volumes; those no container uses are
// reclaimable.
func (s *Store) VolumeUsage() (Usage, error) {
	vols, err := s.ListVolumes()
	if err != nil {
		return Usage{}, err
	}
	u := Usage{Total: len(vols)}
	for _, v := range vols {
		n, _ := du.Size(v.Mountpoint)
		users, _ := s.VolumeUsers(v.Name)
		u.add(UsageItem{v.Name, n, len(users)})
	}
	return u, nil
}

// add counts it in u: active when referenced, reclaimable when not.
func (u *Usage) add(it UsageItem) {
	u.Items = append(u.Items, it)
	u.Size += it.Size
	if it.Refs > 0 {
		u.Active++
	} else {
		u.Reclaimable += it.Size
	}
}

// Pruned is what a prune removed: container IDs or volume names, and
// the bytes they held.
type Pruned struct {
	Removed   []string
	Reclaimed int64
	// UsedImages are the image IDs the containers kept use.
	UsedImages map[string]bool
}

// PruneStopped removes every container that is not running and f
// selects, with its anonymous volumes, and returns their IDs, their
// writable layers' size and the image IDs the containers kept use.
func (s *Store) PruneStopped(ctx context.Context, f prunefilter.Filter) (Pruned, error) {
	p := Pruned{UsedImages: map[string]bool{}}
	ctrs, err := s.List()
	if err != nil {
		return p, err
	}
	for _, c := range ctrs {
		if s.Running(c.ID) || !f.Match(c.Created, c.Labels) {
			p.UsedImages[c.ImageID] = true
			continue
		}
		upper, _, _, _ := s.rootfsDirs(c.ID)
		n, _ := du.Size(upper)
		if err := s.Remove(ctx, c.ID, false, true); err != nil {
			return p, err
		}
		p.Removed = append(p.Removed, c.ID)
		p.Reclaimed += n
	}
	return p, nil
}

// PruneVolumes removes the anonymous volumes no container uses, or with
// all every unused volume, and returns their names and size.
func (s *Store) PruneVolumes(all bool) (Pruned, error) {
	var p Pruned
	vols, err := s.ListVolumes()
	if err != nil {
		return p, err
	}
	for _, v := range vols {
		if users, _ := s.VolumeUsers(v.Name); len(users) > 0 || !(v.Anonymous || all) {
			continue
		}
		n, _ := du.Size(v.Mountpoint)
		if err := s.RemoveVolume(v.Name); err == nil {
			p.Removed = append(p.Removed, v.Name)
			p.Reclaimed += n
		}
	}
	return p, nil
}
