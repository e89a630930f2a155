package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/gc"
	"github.com/lade-build/lade/localbuild"
)

func init() {
	commands = append(commands, (*app).cacheCmd)
}

// defaultMinAge is the age under which a prune spares what no record
// references.
const defaultMinAge = engine.BuildCacheMinAge

type pruneFlags struct {
	all         bool
	keepStorage string
	filters     []string
	force       bool
	minAge      time.Duration
}

func (a *app) cacheCmd() *cobra.Command {
	c := &cobra.Command{Use: "cache", Short: "Manage the build cache"}
	var verbose bool
	du := command("du [--verbose]", "Show the disk usage of the build cache", cobra.NoArgs, func(ctx context.Context, _ []string) error {
		return a.cacheDU(ctx, verbose)
	})
	du.Flags().BoolVarP(&verbose, "verbose", "v", false, "describe every cache record")
	c.AddCommand(du, a.cachePruneCmd())
	return c
}

// cachePruneCmd is `cache prune`, and docker's `builder prune`.
func (a *app) cachePruneCmd() *cobra.Command {
	f := &pruneFlags{}
	prune := command("prune [--all] [--keep-storage SIZE] [--filter until=DURATION] [-f]", "Remove build cache", cobra.NoArgs, func(ctx context.Context, _ []string) error {
		return a.cachePrune(ctx, f)
	})
	addPruneFlags(prune, f)
	return prune
}

func addPruneFlags(c *cobra.Command, f *pruneFlags) {
	fl := c.Flags()
	fl.BoolVarP(&f.all, "all", "a", false, "also remove records of layers images use, and cache mounts")
	fl.StringVar(&f.keepStorage, "keep-storage", "", "keep this much cache (e.g. 5GB), removing least recently used first")
	fl.StringArrayVar(&f.filters, "filter", nil, "until=DURATION: only remove cache not used for DURATION")
	fl.BoolVarP(&f.force, "force", "f", false, "do not ask for confirmation")
	fl.DurationVar(&f.minAge, "min-age", defaultMinAge, "spare unreferenced blobs, snapshots and temp files younger than this")
	fl.MarkHidden("min-age")
}

// gc returns the collector of the root's build cache.
func (a *app) gc() (*gc.Collector, error) {
	s, err := a.stores()
	if err != nil {
		return nil, err
	}
	return s.Collector(a.buildRoot())
}

// buildRoot is what builds and the build cache use of the root.
func (a *app) buildRoot() localbuild.Root {
	return localbuild.Root{Dir: a.root, Content: a.content, Snapshots: a.snapshots, Images: a}
}

func (a *app) cacheDU(ctx context.Context, verbose bool) error {
	g, err := a.gc()
	if err != nil {
		return err
	}
	u, err := g.Usage(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 8, 3, ' ', 0)
	if verbose {
		for _, e := range u.Entries {
			fmt.Fprintf(tw, "ID:\t%s\n", e.ID[:12])
			fmt.Fprintf(tw, "Layer:\t%s\n", e.Layer.Digest)
			fmt.Fprintf(tw, "Created at:\t%s\n", e.Created.Local().Format(time.RFC3339))
			fmt.Fprintf(tw, "Last used:\t%s\n", ago(e.LastUsed))
			fmt.Fprintf(tw, "Keys:\t%d\n", len(e.Keys))
			fmt.Fprintf(tw, "Shared:\t%v\n", e.Shared)
			fmt.Fprintf(tw, "Reclaimable:\t%v\n", !e.Shared)
			fmt.Fprintf(tw, "Size:\t%s\n", humanSize(e.Size))
			fmt.Fprintf(tw, "Description:\t%s\n\n", e.Description)
		}
		for _, m := range u.Mounts {
			fmt.Fprintf(tw, "ID:\t%s\nType:\texec.cachemount\nLast used:\t%s\nSize:\t%s\n\n", m.ID[:12], ago(m.LastUsed), humanSize(m.Size))
		}
	} else if len(u.Entries)+len(u.Mounts) > 0 {
		fmt.Fprintln(tw, "ID\tRECLAIMABLE\tSIZE\tLAST ACCESSED")
		for _, e := range u.Entries {
			fmt.Fprintf(tw, "%s\t%v\t%s\t%s\n", e.ID[:12], !e.Shared, humanSize(e.Size), ago(e.LastUsed))
		}
		for _, m := range u.Mounts {
			fmt.Fprintf(tw, "%s\ttrue\t%s\t%s\n", m.ID[:12], humanSize(m.Size), ago(m.LastUsed))
		}
	}
	var mounts int64
	for _, m := range u.Mounts {
		mounts += m.Size
	}
	if u.Orphans > 0 {
		fmt.Fprintf(tw, "Unreferenced:\t%s (%d blobs and snapshots)\n", humanSize(u.OrphanSize), u.Orphans)
	}
	fmt.Fprintf(tw, "Cache mounts:\t%s\n", humanSize(mounts))
	fmt.Fprintf(tw, "Temp files:\t%s\n", humanSize(u.Scratch))
	fmt.Fprintf(tw, "Total:\t%s\n", humanSize(u.Total()))
	return tw.Flush()
}

// confirm asks on stdin unless force is set, like docker's prune commands.
func (a *app) confirm(force bool, warning string) bool {
	if force {
		return true
	}
	fmt.Fprintf(a.stdout, "WARNING! %s\nAre you sure you want to continue? [y/N] ", warning)
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	line = strings.TrimSpace(strings.ToLower(line))
	return line == "y" || line == "yes"
}

func (f *pruneFlags) options() (gc.PruneOptions, error) {
	o := gc.PruneOptions{All: f.all, StaleAge: f.minAge}
	if f.keepStorage != "" {
		n, err := container.ParseBytes(f.keepStorage)
		if err != nil {
			return o, fmt.Errorf("--keep-storage: %w", err)
		}
		o.KeepStorage = n
	}
	return o, engine.BuildPruneFilters(&o, f.filters)
}

func (a *app) cachePrune(ctx context.Context, f *pruneFlags) error {
	o, err := f.options()
	if err != nil {
		return err
	}
	warn := "This will remove all dangling build cache."
	if f.all {
		warn = "This will remove all build cache."
	}
	if !a.confirm(f.force, warn) {
		return nil
	}
	rep, err := a.pruneCache(ctx, o)
	if err != nil {
		return err
	}
	a.printPruned(rep)
	return nil
}

// printPruned ends a prune command's output as docker does: the build
// cache records removed, then the space reclaimed.
func (a *app) printPruned(rep *gc.PruneReport) {
	ids := make([]string, len(rep.Records))
	for i, id := range rep.Records {
		ids[i] = id[:12]
	}
	a.printReclaimed("Deleted build cache objects:", ids, rep.Reclaimed)
}

// pruneCache prunes under the exclusive GC lock, waiting for builds.
func (a *app) pruneCache(ctx context.Context, o gc.PruneOptions) (*gc.PruneReport, error) {
	s, err := a.stores()
	if err != nil {
		return nil, err
	}
	return s.PruneBuildCache(ctx, a.buildRoot(), o, func() {
		fmt.Fprintln(a.stderr, "waiting for running builds to finish...")
	})
}
