package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/docker/cli/cli/command/formatter"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/network"
)

func init() {
	commands = append(commands, (*app).inspectCmd, (*app).historyCmd)
}

// stores are the root's stores as package engine looks objects up in them.
func (a *app) stores() (engine.Stores, error) {
	cs, err := a.containers()
	if err != nil {
		return engine.Stores{}, err
	}
	ns, err := network.Open(filepath.Join(a.root, "networks"))
	if err != nil {
		return engine.Stores{}, err
	}
	return engine.Stores{Containers: cs, Images: a.images, Networks: ns, Alive: cs.Running}, nil
}

// inspectFlags are what every inspect command takes.
type inspectFlags struct {
	format   string
	platform string
	size     bool
}

func (f *inspectFlags) add(c *cobra.Command) {
	c.Flags().StringVarP(&f.format, "format", "f", "", "format the output with a Go template (docker's: json, join, upper...)")
}

// inspectObjects prints what each ref names (an object of kind, "" for
// docker's search order) as docker inspect does: an indented JSON array,
// or f.format run on each; unknown refs are reported, then status 1.
func (a *app) inspectObjects(ctx context.Context, refs []string, kind string, f *inspectFlags) error {
	plat, err := platformFlag(f.platform)
	if err != nil {
		return err
	}
	s, err := a.stores()
	if err != nil {
		return err
	}
	ins, err := engine.NewInspector(a.stdout, f.format)
	if err != nil {
		return statusError{64, err}
	}
	failed := false
	for _, ref := range refs {
		v, err := s.Inspect(ctx, ref, kind, engine.InspectOptions{Platform: plat, Size: f.size})
		if err == nil {
			err = ins.Add(v)
		}
		if err != nil {
			printError(a.stderr, "", err)
			failed = true
		}
	}
	if err := ins.Flush(); err != nil {
		return err
	}
	if failed {
		return exitError{1}
	}
	return nil
}

func (a *app) inspectCmd() *cobra.Command {
	f := &inspectFlags{}
	var kind string
	c := command("inspect [OPTIONS] NAME|ID...", "Show low-level information on containers, images, volumes or networks as JSON", cobra.MinimumNArgs(1),
		func(ctx context.Context, args []string) error {
			if kind != "" && !slices.Contains(engine.Kinds, kind) {
				return statusError{125, fmt.Errorf("%q is not a valid value for --type", kind)}
			}
			return a.inspectObjects(ctx, args, kind, f)
		})
	f.add(c)
	c.Flags().StringVar(&kind, "type", "", "only look for an object of this type: container, image, volume or network")
	c.Flags().BoolVarP(&f.size, "size", "s", false, "add a container's SizeRw and SizeRootFs")
	c.Flags().StringVar(&f.platform, "platform", "", "describe this platform's image of a multi-platform image (default: the host's)")
	return c
}

// imageInspectCmd is `image inspect`: images only.
func (a *app) imageInspectCmd() *cobra.Command {
	f := &inspectFlags{}
	c := command("inspect [OPTIONS] IMAGE...", "Show images as JSON", cobra.MinimumNArgs(1), func(ctx context.Context, args []string) error {
		return a.inspectObjects(ctx, args, "image", f)
	})
	f.add(c)
	c.Flags().StringVar(&f.platform, "platform", "", "describe this platform's image of a multi-platform image (default: the host's)")
	return c
}

// kindInspectCmd is `container|volume|network inspect`: one kind only.
func (a *app) kindInspectCmd(kind, use, short string) *cobra.Command {
	f := &inspectFlags{}
	c := command(use, short, cobra.MinimumNArgs(1), func(ctx context.Context, args []string) error {
		return a.inspectObjects(ctx, args, kind, f)
	})
	f.add(c)
	if kind == "container" {
		c.Flags().BoolVarP(&f.size, "size", "s", false, "add SizeRw and SizeRootFs")
	}
	return c
}

func (a *app) historyCmd() *cobra.Command {
	var noTrunc, quiet, human bool
	var platform, format string
	c := command("history [OPTIONS] IMAGE", "Show the history of an image", cobra.ExactArgs(1), a.withStores(func(ctx context.Context, args []string) error {
		plat, err := platformFlag(platform)
		if err != nil {
			return err
		}
		img, err := a.images.Get(ctx, args[0])
		if err == nil && plat != nil {
			img, err = a.images.GetPlatform(ctx, args[0], *plat)
		}
		if err != nil {
			return err
		}
		ii, err := a.images.Inspect(ctx, args[0], plat)
		if err != nil {
			return err
		}
		rows, err := engine.History(img, ii.RepoTags)
		if err != nil {
			return err
		}
		fctx := formatter.Context{Output: a.stdout, Format: engine.NewHistoryFormat(format, quiet, human), Trunc: !noTrunc}
		return engine.HistoryWrite(fctx, human, rows)
	}))
	c.Flags().BoolVar(&noTrunc, "no-trunc", false, "don't truncate output")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	c.Flags().BoolVarP(&human, "human", "H", true, "print sizes and dates in human readable format")
	c.Flags().StringVar(&format, "format", "", "format the output with a Go template, 'table', 'table TEMPLATE' or 'json'")
	c.Flags().StringVar(&platform, "platform", "", "show this platform's image of a multi-platform image (default: the host's)")
	return c
}
