package main

import (
	"context"
	"fmt"

	"github.com/docker/cli/cli/command/formatter"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/internal/prunefilter"
)

func init() {
	commands = append(commands, (*app).systemCmd)
}

func (a *app) systemCmd() *cobra.Command {
	c := &cobra.Command{Use: "system", Short: "Manage lade"}
	var dfFormat string
	df := command("df [--format FORMAT]", "Show disk usage of images, containers, volumes and build cache", cobra.NoArgs, func(ctx context.Context, _ []string) error {
		return a.systemDF(ctx, dfFormat)
	})
	df.Flags().StringVar(&dfFormat, "format", "", "format the output with a Go template, 'table', 'table TEMPLATE' or 'json'")
	f := &pruneFlags{}
	var volumes bool
	prune := command("prune [-a] [--volumes] [-f]", "Remove stopped containers, dangling images and build cache", cobra.NoArgs, func(ctx context.Context, _ []string) error {
		return a.systemPrune(ctx, f, volumes)
	})
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

// systemDF prints the rows through docker's disk usage formatter.
func (a *app) systemDF(ctx context.Context, format string) error {
	rows, err := a.diskUsage(ctx)
	if err != nil {
		return err
	}
	if format == "" {
		format = formatter.TableFormatKey
	}
	img, ctr, vol, bc := rows[0], rows[1], rows[2], rows[3]
	du := formatter.DiskUsageContext{
		Context:             formatter.Context{Output: a.stdout, Format: formatter.NewDiskUsageFormat(format, false)},
		ImageDiskUsage:      client.ImagesDiskUsage{TotalCount: int64(img.total), ActiveCount: int64(img.active), TotalSize: img.size, Reclaimable: img.reclaimable},
		ContainerDiskUsage:  client.ContainersDiskUsage{TotalCount: int64(ctr.total), ActiveCount: int64(ctr.active), TotalSize: ctr.size, Reclaimable: ctr.reclaimable},
		VolumeDiskUsage:     client.VolumesDiskUsage{TotalCount: int64(vol.total), ActiveCount: int64(vol.active), TotalSize: vol.size, Reclaimable: vol.reclaimable},
		BuildCacheDiskUsage: client.BuildCacheDiskUsage{TotalCount: int64(bc.total), ActiveCount: int64(bc.active), TotalSize: bc.size, Reclaimable: bc.reclaimable},
	}
	return du.Write()
}

// diskUsage asks each store what it takes.
func (a *app) diskUsage(ctx context.Context) ([]dfRow, error) {
	cs, err := a.containers()
	if err != nil {
		return nil, err
	}
	ctrs, usedImages, err := cs.DiskUsage()
	if err != nil {
		return nil, err
	}
	imgs, err := a.images.DiskUsage(ctx, usedImages)
	if err != nil {
		return nil, err
	}
	vols, err := cs.VolumeUsage()
	if err != nil {
		return nil, err
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
	return []dfRow{
		{"Images", imgs.Total, imgs.Active, imgs.Size, imgs.Reclaimable},
		containerRow("Containers", ctrs),
		containerRow("Local Volumes", vols),
		bcRow,
	}, nil
}

func containerRow(typ string, u container.Usage) dfRow {
	return dfRow{typ, u.Total, u.Active, u.Size, u.Reclaimable}
}

func (a *app) systemPrune(ctx context.Context, f *pruneFlags, volumes bool) error {
	o, err := f.options()
	if err != nil {
		return err
	}
	warn := "This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n"
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
	ctrs, err := cs.PruneStopped(ctx, prunefilter.Filter{})
	if err != nil {
		return err
	}
	printList(a, "Deleted Containers:", ctrs.Removed)
	removed, err := a.pruneNetworks(ctx)
	if err != nil {
		return err
	}
	printList(a, "Deleted Networks:", removed)
	reclaimed := ctrs.Reclaimed
	if volumes {
		vols, err := cs.PruneVolumes(false)
		if err != nil {
			return err
		}
		printList(a, "Deleted Volumes:", vols.Removed)
		reclaimed += vols.Reclaimed
	}
	removed, err = a.images.Prune(ctx, images.PruneOptions{All: f.all, InUse: ctrs.UsedImages})
	if err != nil {
		return err
	}
	printList(a, "Deleted Images:", removed)
	rep, err := a.pruneCache(ctx, o)
	if err != nil {
		return err
	}
	rep.Reclaimed += reclaimed
	a.printPruned(rep)
	return nil
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
