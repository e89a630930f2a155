package engine

import (
	"context"

	"github.com/moby/moby/api/types/build"
	ctypes "github.com/moby/moby/api/types/container"
	itypes "github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	vtypes "github.com/moby/moby/api/types/volume"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/gc"
	"github.com/lade-build/lade/localbuild"
)

// DiskUsage is docker system df: what images, containers, volumes and
// r's build cache take, for `lade system df` and the API alike. Each
// part's Items are its records with the sizes docker's older API
// (before 1.52) lists instead of totals: an image's Size, SharedSize
// and Containers, a container's SizeRw, a volume's UsageData, the build
// cache's records.
func (s Stores) DiskUsage(ctx context.Context, r localbuild.Root) (system.DiskUsage, error) {
	var du system.DiskUsage
	list, err := s.Containers.List() // read once, for every part
	if err != nil {
		return du, err
	}
	ctrs, used := s.Containers.DiskUsage(list)
	if du.ImageUsage, err = s.imageUsage(ctx, used, imageUsers(list)); err != nil {
		return du, err
	}
	du.ContainerUsage = containerUsage(ctrs, list)
	vols, err := s.Containers.VolumeUsage()
	if err != nil {
		return du, err
	}
	if du.VolumeUsage, err = s.volumeUsage(vols); err != nil {
		return du, err
	}
	g, err := s.Collector(r)
	if err != nil {
		return du, err
	}
	u, err := g.Usage(ctx)
	if err != nil {
		return du, err
	}
	du.BuildCacheUsage = buildCacheUsage(u, r.Content.GCBusy())
	return du, nil
}

// imageUsage counts every blob once (images.Store.DiskUsage); used holds
// the image IDs containers use, users how many use each.
func (s Stores) imageUsage(ctx context.Context, used map[string]bool, users map[string]int) (*itypes.DiskUsage, error) {
	u, err := s.Images.DiskUsage(ctx, used)
	if err != nil {
		return nil, err
	}
	list, err := s.Images.List(ctx)
	if err != nil {
		return nil, err
	}
	items, err := Summaries(ctx, s.Images, list, users)
	if err != nil {
		return nil, err
	}
	for i, e := range list {
		// The blobs DiskUsage counted, its manifest's too, so that
		// clients adding these up find its totals.
		iu := u.Images[e.Digest]
		items[i].Size, items[i].SharedSize = iu.Size, iu.Shared
	}
	return &itypes.DiskUsage{TotalCount: int64(u.Total), ActiveCount: int64(u.Active),
		TotalSize: u.Size, Reclaimable: u.Reclaimable, Items: items}, nil
}

// imageUsers counts the containers of each image ID.
func imageUsers(ctrs []*container.Container) map[string]int {
	users := map[string]int{}
	for _, c := range ctrs {
		users[c.ImageID]++
	}
	return users
}

// containerUsage is u's containers (of list) as ps lists them, with
// their writable layers' sizes as u measured them.
func containerUsage(u container.Usage, list []*container.Container) *ctypes.DiskUsage {
	sizes := map[string]int64{}
	for _, it := range u.Items {
		sizes[it.Name] = it.Size
	}
	items := []ctypes.Summary{}
	for _, c := range list {
		if n, ok := sizes[c.ID]; ok {
			sum := ContainerSummary(c)
			sum.SizeRw = n
			items = append(items, sum)
		}
	}
	return &ctypes.DiskUsage{TotalCount: int64(u.Total), ActiveCount: int64(u.Active),
		TotalSize: u.Size, Reclaimable: u.Reclaimable, Items: items}
}

// volumeUsage is u's volumes with their usage data.
func (s Stores) volumeUsage(u container.Usage) (*vtypes.DiskUsage, error) {
	vols, err := s.Containers.ListVolumes()
	if err != nil {
		return nil, err
	}
	byName := map[string]container.UsageItem{}
	for _, it := range u.Items {
		byName[it.Name] = it
	}
	items := []vtypes.Volume{}
	for _, v := range vols {
		if it, ok := byName[v.Name]; ok {
			items = append(items, Volume(v, &vtypes.UsageData{Size: it.Size, RefCount: int64(it.Refs)}))
		}
	}
	return &vtypes.DiskUsage{TotalCount: int64(u.Total), ActiveCount: int64(u.Active),
		TotalSize: u.Size, Reclaimable: u.Reclaimable, Items: items}, nil
}

// buildCacheUsage counts the cache's records and RUN cache mounts; all
// of it is reclaimable, and one build running makes it active. The
// unreferenced blobs and temp files, which no record names, are one
// record of their own, so that the records add up to the totals.
func buildCacheUsage(u *gc.Usage, busy bool) *build.DiskUsage {
	du := &build.DiskUsage{TotalSize: u.Total(), Reclaimable: u.Total(), Items: []build.CacheRecord{}}
	if busy {
		du.ActiveCount = 1
	}
	for _, e := range u.Entries {
		last := e.LastUsed
		du.Items = append(du.Items, build.CacheRecord{ID: e.ID, Type: "regular", Description: e.Description,
			Shared: e.Shared, Size: e.Size, CreatedAt: e.Created, LastUsedAt: &last, UsageCount: len(e.Keys)})
	}
	for _, m := range u.Mounts {
		last := m.LastUsed
		du.Items = append(du.Items, build.CacheRecord{ID: m.ID, Type: "exec.cachemount", Size: m.Size, LastUsedAt: &last})
	}
	if n := u.OrphanSize + u.Scratch; n > 0 {
		du.Items = append(du.Items, build.CacheRecord{ID: "unreferenced", Type: "internal",
			Description: "blobs, snapshots and temp files no record names", Size: n})
	}
	du.TotalCount = int64(len(du.Items))
	return du
}
