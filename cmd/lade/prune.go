package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/gc"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/internal/prunefilter"
)

func init() {
	namespaceOnly["container"] = append(namespaceOnly["container"], (*app).containerPruneCmd)
	namespaceOnly["image"] = append(namespaceOnly["image"], (*app).imagePruneCmd)
	namespaceOnly["volume"] = append(namespaceOnly["volume"], (*app).volumePruneCmd)
	namespaceOnly["builder"] = append(namespaceOnly["builder"], (*app).cachePruneCmd)
}

// printReclaimed ends a prune as docker does: what went, then the space.
func (a *app) printReclaimed(title string, removed []string, n int64) {
	printList(a, title, removed)
	fmt.Fprintf(a.stdout, "Total reclaimed space: %s\n", humanSize(n))
}

// storePrune confirms warn, runs prune on the container store and prints
// what it removed under title: container and volume prune.
func (a *app) storePrune(force bool, warn, title string, prune func(*container.Store) (container.Pruned, error)) error {
	if !a.confirm(force, warn) {
		return nil
	}
	cs, err := a.containers()
	if err != nil {
		return err
	}
	p, err := prune(cs)
	a.printReclaimed(title, p.Removed, p.Reclaimed)
	return err
}

func (a *app) containerPruneCmd() *cobra.Command {
	var force bool
	var filters []string
	c := command("prune [OPTIONS]", "Remove all stopped containers", cobra.NoArgs, func(ctx context.Context, _ []string) error {
		f, err := prunefilter.Parse(filters, time.Now())
		if err != nil {
			return statusError{125, err}
		}
		return a.storePrune(force, "This will remove all stopped containers.", "Deleted Containers:",
			func(cs *container.Store) (container.Pruned, error) { return cs.PruneStopped(ctx, f) })
	})
	addFilterFlag(c, &filters)
	c.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	return c
}

// addFilterFlag is docker's --filter of container and image prune.
func addFilterFlag(c *cobra.Command, filters *[]string) {
	c.Flags().StringArrayVar(filters, "filter", nil, `filter values ("until=<timestamp|duration>", "label=KEY[=VALUE]", "label!=KEY[=VALUE]")`)
}

func (a *app) volumePruneCmd() *cobra.Command {
	var force, all bool
	c := command("prune [OPTIONS]", "Remove unused local volumes", cobra.NoArgs, func(context.Context, []string) error {
		warn := "This will remove anonymous local volumes not used by at least one container."
		if all {
			warn = "This will remove all local volumes not used by at least one container."
		}
		return a.storePrune(force, warn, "Deleted Volumes:",
			func(cs *container.Store) (container.Pruned, error) { return cs.PruneVolumes(all) })
	})
	c.Flags().BoolVarP(&all, "all", "a", false, "remove all unused volumes, not just anonymous ones")
	c.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	return c
}

func (a *app) imagePruneCmd() *cobra.Command {
	var force bool
	var filters []string
	var o images.PruneOptions
	c := command("prune [OPTIONS]", "Remove unused images", cobra.NoArgs, a.withStores(func(ctx context.Context, _ []string) error {
		var err error
		if o.Filter, err = prunefilter.Parse(filters, time.Now()); err != nil {
			return statusError{125, err}
		}
		warn := "This will remove all dangling images."
		if o.All {
			warn = "This will remove all images without at least one container associated to them."
		}
		if !a.confirm(force, warn) {
			return nil
		}
		return a.imagePrune(ctx, o)
	}))
	c.Flags().BoolVarP(&o.All, "all", "a", false, "remove all unused images, not just dangling ones")
	addFilterFlag(c, &filters)
	c.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	return c
}

// imagePrune untags the images o selects, sparing those any container
// uses, then removes the blobs no image or cache record references.
func (a *app) imagePrune(ctx context.Context, o images.PruneOptions) error {
	cs, err := a.containers()
	if err != nil {
		return err
	}
	removed, err := engine.Stores{Containers: cs, Images: a.images}.PruneImages(ctx, o)
	if err != nil {
		return err
	}
	rep, err := a.pruneCache(ctx, gc.PruneOptions{OrphansOnly: true, StaleAge: defaultMinAge})
	if err != nil {
		return err
	}
	a.printReclaimed("Deleted Images:", removed, rep.Reclaimed)
	return nil
}
