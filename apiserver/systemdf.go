package apiserver

import (
	"net/http"
	"slices"

	"github.com/moby/moby/api/types/build"
	ctypes "github.com/moby/moby/api/types/container"
	itypes "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	vtypes "github.com/moby/moby/api/types/volume"

	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/gc"
	"github.com/lade-build/lade/localbuild"
)

// buildRoot is what the build cache is of the server's root.
func (s *Server) buildRoot() localbuild.Root {
	return localbuild.Root{Dir: s.o.Root, Content: s.o.Content, Snapshots: s.o.Snapshots}
}

// legacyDiskUsage is system df's answer before API 1.52: the records,
// from which clients add the totals up, and the images' total size.
type legacyDiskUsage struct {
	LayersSize int64
	Images     []legacyImage
	Containers []ctypes.Summary
	Volumes    []vtypes.Volume
	BuildCache []build.CacheRecord
}

// legacyImage is an image's record as docker 20.10's system df reads it:
// its size as VirtualSize too.
type legacyImage struct {
	itypes.Summary
	VirtualSize int64
}

// systemDF is docker system df (engine's DiskUsage, as `lade system
// df`): the parts type= asks for (all without it), with their records
// when verbose; in the records-only shape for clients before API 1.52.
func (s *Server) systemDF(w http.ResponseWriter, r *http.Request) error {
	du, err := s.stores.DiskUsage(r.Context(), s.buildRoot())
	if err != nil {
		return err
	}
	if types := r.URL.Query()["type"]; len(types) > 0 {
		keep := func(o system.DiskUsageObject) bool { return slices.Contains(types, string(o)) }
		if !keep(system.ImageObject) {
			du.ImageUsage = nil
		}
		if !keep(system.ContainerObject) {
			du.ContainerUsage = nil
		}
		if !keep(system.VolumeObject) {
			du.VolumeUsage = nil
		}
		if !keep(system.BuildCacheObject) {
			du.BuildCacheUsage = nil
		}
	}
	if lessVersion(requestVersion(r), "1.52") {
		return writeJSON(w, http.StatusOK, legacyDF(du))
	}
	if !boolQuery(r, "verbose") {
		dropItems(&du)
	}
	return writeJSON(w, http.StatusOK, du)
}

// legacyDF is du in the shape of API 1.51 and before.
func legacyDF(du system.DiskUsage) legacyDiskUsage {
	var l legacyDiskUsage
	if u := du.ImageUsage; u != nil {
		l.LayersSize = u.TotalSize
		l.Images = []legacyImage{}
		for _, i := range u.Items {
			l.Images = append(l.Images, legacyImage{i, i.Size})
		}
	}
	if u := du.ContainerUsage; u != nil {
		l.Containers = u.Items
	}
	if u := du.VolumeUsage; u != nil {
		l.Volumes = u.Items
	}
	if u := du.BuildCacheUsage; u != nil {
		l.BuildCache = u.Items
	}
	return l
}

// dropItems leaves du's totals only, as dockerd answers without verbose.
func dropItems(du *system.DiskUsage) {
	if du.ImageUsage != nil {
		du.ImageUsage.Items = nil
	}
	if du.ContainerUsage != nil {
		du.ContainerUsage.Items = nil
	}
	if du.VolumeUsage != nil {
		du.VolumeUsage.Items = nil
	}
	if du.BuildCacheUsage != nil {
		du.BuildCacheUsage.Items = nil
	}
}

// buildPrune is docker builder prune, as `lade builder prune` (engine's
// PruneBuildCache): all, filters (until), and keep-storage or, from API
// 1.48, reserved-space or max-used-space: the size to keep the cache
// under (min-free-space, a free-disk target, is not served).
func (s *Server) buildPrune(w http.ResponseWriter, r *http.Request) error {
	o := gc.PruneOptions{All: boolQuery(r, "all"), StaleAge: engine.BuildCacheMinAge}
	for _, k := range []string{"keep-storage", "reserved-space", "max-used-space"} {
		n, err := intQuery(r, k, 0)
		if err != nil {
			return err
		}
		if n > 0 {
			o.KeepStorage = int64(n)
		}
	}
	filters, err := filterArgs(r)
	if err != nil {
		return err
	}
	if err := engine.BuildPruneFilters(&o, filters); err != nil {
		return badParameter(err)
	}
	rep, err := s.stores.PruneBuildCache(r.Context(), s.buildRoot(), o, nil)
	if err != nil {
		return err
	}
	out := build.CachePruneReport{CachesDeleted: []string{}, SpaceReclaimed: uint64(max(rep.Reclaimed, 0))}
	out.CachesDeleted = append(out.CachesDeleted, rep.Records...)
	return writeJSON(w, http.StatusOK, out)
}
