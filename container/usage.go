package container

import (
	"context"

	"github.com/lade-build/lade/internal/du"
)

// Usage is what containers or volumes take on disk, as system df shows
// it.
type Usage struct {
	Total, Active     int   // running containers, volumes in use
	Size, Reclaimable int64 // bytes; reclaimable is what the inactive hold
}

// DiskUsage measures the containers' writable layers and returns the
// image IDs they use.
func (s *Store) DiskUsage() (Usage, map[string]bool, error) {
	ctrs, err := s.List()
	if err != nil {
		return Usage{}, nil, err
	}
	u := Usage{Total: len(ctrs)}
	used := map[string]bool{}
	for _, c := range ctrs {
		used[c.ImageID] = true
		upper, _, _, _ := s.rootfsDirs(c.ID)
		n, _ := du.Size(upper)
		u.Size += n
		if s.Running(c.ID) {
			u.Active++
		} else {
			u.Reclaimable += n
		}
	}
	return u, used, nil
}

// VolumeUsage measures the volumes; those no container uses are
// reclaimable.
func (s *Store) VolumeUsage() (Usage, error) {
	vols, err := s.ListVolumes()
	if err != nil {
		return Usage{}, err
	}
	var u Usage
	for _, v := range vols {
		u.Total++
		n, _ := du.Size(v.Mountpoint)
		u.Size += n
		if users, _ := s.VolumeUsers(v.Name); len(users) > 0 {
			u.Active++
		} else {
			u.Reclaimable += n
		}
	}
	return u, nil
}

// PruneStopped removes every container that is not running, with its
// anonymous volumes, and returns their IDs and the image IDs the running
// ones use.
func (s *Store) PruneStopped(ctx context.Context) (removed []string, usedImages map[string]bool, err error) {
	ctrs, err := s.List()
	if err != nil {
		return nil, nil, err
	}
	usedImages = map[string]bool{}
	for _, c := range ctrs {
		if s.Running(c.ID) {
			usedImages[c.ImageID] = true
			continue
		}
		if err := s.Remove(ctx, c.ID, false, true); err != nil {
			return removed, usedImages, err
		}
		removed = append(removed, c.ID)
	}
	return removed, usedImages, nil
}

// PruneVolumes removes the anonymous volumes no container uses and
// returns their names.
func (s *Store) PruneVolumes() ([]string, error) {
	vols, err := s.ListVolumes()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, v := range vols {
		if users, _ := s.VolumeUsers(v.Name); len(users) > 0 || !v.Anonymous {
			continue
		}
		if err := s.RemoveVolume(v.Name); err == nil {
			removed = append(removed, v.Name)
		}
	}
	return removed, nil
}
