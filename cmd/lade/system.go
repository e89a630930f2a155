package main

import (
	"context"
	"fmt"

	"github.com/docker/cli/cli/command/formatter"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

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

// systemDF prints engine's DiskUsage through docker's disk usage
// formatter.
func (a *app) systemDF(ctx context.Context, format string) error {
	s, err := a.stores()
	if err != nil {
		return err
	}
	du, err := s.DiskUsage(ctx, a.buildRoot())
	if err != nil {
		return err
	}
	if format == "" {
		format = formatter.TableFormatKey
	}
	img, ctr, vol, bc := du.ImageUsage, du.ContainerUsage, du.VolumeUsage, du.BuildCacheUsage
	out := formatter.DiskUsageContext{
		Context:             formatter.Context{Output: a.stdout, Format: formatter.NewDiskUsageFormat(format, false)},
		ImageDiskUsage:      client.ImagesDiskUsage{TotalCount: img.TotalCount, ActiveCount: img.ActiveCount, TotalSize: img.TotalSize, Reclaimable: img.Reclaimable},
		ContainerDiskUsage:  client.ContainersDiskUsage{TotalCount: ctr.TotalCount, ActiveCount: ctr.ActiveCount, TotalSize: ctr.TotalSize, Reclaimable: ctr.Reclaimable},
		VolumeDiskUsage:     client.VolumesDiskUsage{TotalCount: vol.TotalCount, ActiveCount: vol.ActiveCount, TotalSize: vol.TotalSize, Reclaimable: vol.Reclaimable},
		BuildCacheDiskUsage: client.BuildCacheDiskUsage{TotalCount: bc.TotalCount, ActiveCount: bc.ActiveCount, TotalSize: bc.TotalSize, Reclaimable: bc.Reclaimable},
	}
	return out.Write()
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
