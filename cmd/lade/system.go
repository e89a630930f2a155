package main

import (
	"context"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/internal/du"
)

func init() {
	commands = append(commands, (*app).systemCmd)
}

func (a *app) systemCmd() *cobra.Command {
	c := &cobra.Command{Use: "system", Short: "Manage lade"}
	df := &cobra.Command{
		Use:   "df",
		Short: "Show disk usage of images, containers, volumes and build cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.systemDF(cmd.Context())
		},
	}
	f := &pruneFlags{}
	var volumes bool
	prune := &cobra.Command{
		Use:   "prune [-a] [--volumes] [-f]",
		Short: "Remove stopped containers, dangling images and build cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.systemPrune(cmd.Context(), f, volumes)
		},
	}
	addPruneFlags(prune, f)
	prune.Flags().Lookup("all").Usage = "also remove images no container uses, and all build cache"
	prune.Flags().BoolVar(&volumes, "volumes", false, "also remove anonymous volumes no container uses")
	c.AddCommand(df, prune)
	return c
}

// dfRow is one line of system df.
type dfRow struct {
	typ               string
	total, active     int
	size, reclaimable int64
}

func (a *app) systemDF(ctx context.Context) error {
	rows, err := a.diskUsage(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
	for _, r := range rows {
		pct := 0
		if r.size > 0 {
			pct = int(100 * r.reclaimable / r.size)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s (%d%%)\n", r.typ, r.total, r.active, humanSize(r.size), humanSize(r.reclaimable), pct)
	}
	return tw.Flush()
}

func (a *app) diskUsage(ctx context.Context) ([]dfRow, error) {
	if err := a.open(); err != nil {
		return nil, err
	}
	cs, err := a.containers()
	if err != nil {
		return nil, err
	}
	ctrs, err := cs.List()
	if err != nil {
		return nil, err
	}
	usedImage := map[string]bool{} // config digests
	ctrRow := dfRow{typ: "Containers", total: len(ctrs)}
	for _, c := range ctrs {
		usedImage[c.ImageID] = true
		n, _ := du.Size(filepath.Join(cs.Dir(c.ID), "rootfs", "upper"))
		ctrRow.size += n
		if cs.Running(c.ID) {
			ctrRow.active++
		} else {
			ctrRow.reclaimable += n
		}
	}

	// Images: every blob once; reclaimable is what only unused images hold.
	imgRow := dfRow{typ: "Images"}
	list, err := a.images.List(ctx)
	if err != nil {
		return nil, err
	}
	sizes := map[v1.Hash]int64{}
	keep := map[v1.Hash]bool{}
	for _, e := range list {
		imgRow.total++
		img, err := a.images.Get(ctx, e.Digest.String())
		if err != nil {
			continue
		}
		m, err := img.Manifest()
		if err != nil {
			continue
		}
		blobs := map[v1.Hash]int64{e.Digest: 0, m.Config.Digest: m.Config.Size}
		for _, l := range m.Layers {
			blobs[l.Digest] = l.Size
		}
		if n, err := a.content.Size(e.Digest); err == nil {
			blobs[e.Digest] = n
		}
		used := usedImage[m.Config.Digest.String()]
		if used {
			imgRow.active++
		}
		for d, n := range blobs {
			sizes[d] = n
			keep[d] = keep[d] || used
		}
	}
	for d, n := range sizes {
		imgRow.size += n
		if !keep[d] {
			imgRow.reclaimable += n
		}
	}

	volRow := dfRow{typ: "Local Volumes"}
	vols, err := cs.ListVolumes()
	if err != nil {
		return nil, err
	}
	for _, v := range vols {
		volRow.total++
		n, _ := du.Size(v.Mountpoint)
		volRow.size += n
		if users, _ := cs.VolumeUsers(v.Name); len(users) > 0 {
			volRow.active++
		} else {
			volRow.reclaimable += n
		}
	}

	g, err := a.gc()
	if err != nil {
		return nil, err
	}
	u, err := g.Usage(ctx)
	if err != nil {
		return nil, err
	}
	bcRow := dfRow{typ: "Build Cache", total: len(u.Entries) + len(u.Mounts), size: u.Total(), reclaimable: u.Total()}
	if a.content.GCBusy() {
		bcRow.active = 1 // at least one build runs
	}
	return []dfRow{imgRow, ctrRow, volRow, bcRow}, nil
}

func (a *app) systemPrune(ctx context.Context, f *pruneFlags, volumes bool) error {
	o, err := f.options()
	if err != nil {
		return err
	}
	warn := "This will remove:\n  - all stopped containers\n"
	if volumes {
		warn += "  - all anonymous volumes not used by at least one container\n"
	}
	if f.all {
		warn += "  - all images without at least one container associated to them\n  - all build cache"
	} else {
		warn += "  - all dangling images\n  - all dangling build cache"
	}
	if !a.confirm(f.force, warn) {
		return nil
	}
	cs, err := a.containers()
	if err != nil {
		return err
	}
	ctrs, err := cs.List()
	if err != nil {
		return err
	}
	used := map[string]bool{}
	var removed []string
	for _, c := range ctrs {
		if cs.Running(c.ID) {
			used[c.ImageID] = true
			continue
		}
		if err := cs.Remove(ctx, c.ID, false, true); err != nil {
			return err
		}
		removed = append(removed, c.ID)
	}
	printList(a, "Deleted Containers:", removed)

	if volumes {
		removed = nil
		vols, err := cs.ListVolumes()
		if err != nil {
			return err
		}
		for _, v := range vols {
			if users, _ := cs.VolumeUsers(v.Name); len(users) > 0 || !v.Anonymous {
				continue
			}
			if err := cs.RemoveVolume(v.Name); err == nil {
				removed = append(removed, v.Name)
			}
		}
		printList(a, "Deleted Volumes:", removed)
	}

	removed, err = a.pruneImages(ctx, f.all, used)
	if err != nil {
		return err
	}
	printList(a, "Deleted Images:", removed)
	rep, err := a.pruneCache(ctx, o)
	if err != nil {
		return err
	}
	ids := make([]string, len(rep.Records))
	for i, id := range rep.Records {
		ids[i] = id[:12]
	}
	printList(a, "Deleted build cache objects:", ids)
	fmt.Fprintf(a.stdout, "Total reclaimed space: %s\n", humanSize(rep.Reclaimed))
	return nil
}

// pruneImages drops dangling images, or with all every image no running
// container uses; their blobs go with the build cache prune that follows.
func (a *app) pruneImages(ctx context.Context, all bool, used map[string]bool) ([]string, error) {
	list, err := a.images.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range list {
		if len(e.Names) > 0 && !all {
			continue
		}
		if img, err := a.images.Get(ctx, e.Digest.String()); err == nil {
			if id, err := img.ConfigName(); err == nil && used[id.String()] {
				continue
			}
		}
		if err := a.images.Untag(ctx, e.Digest.String()); err != nil {
			return out, err
		}
		out = append(out, "deleted: "+e.ImageID().String())
	}
	return out, nil
}

func printList(a *app, title string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintln(a.stdout, title)
	for _, s := range items {
		fmt.Fprintln(a.stdout, s)
	}
	fmt.Fprintln(a.stdout)
}
