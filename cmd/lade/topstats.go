package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/cli/cli/command/formatter"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/engine"
)

func init() { commands = append(commands, (*app).topCmd, (*app).statsCmd) }

func (a *app) topCmd() *cobra.Command {
	c := command("top CONTAINER [ps OPTIONS]", "Display the running processes of a container", cobra.MinimumNArgs(1),
		func(ctx context.Context, args []string) error {
			store, c, err := a.container(args[0])
			if err != nil {
				return err
			}
			top, err := store.Top(ctx, c, args[1:])
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 20, 1, 3, ' ', 0)
			fmt.Fprintln(tw, strings.Join(top.Titles, "\t"))
			for _, p := range top.Processes {
				fmt.Fprintln(tw, strings.Join(p, "\t"))
			}
			return tw.Flush()
		})
	c.Long = `Display the running processes of a container: the host's ps, run with
the given options (default -ef), keeping the rows of the container's
processes.`
	c.Example = `  lade top web
  lade top web -o pid,rss,args`
	c.Flags().SetInterspersed(false)
	return c
}

func (a *app) statsCmd() *cobra.Command {
	var all, noStream, noTrunc bool
	var format string
	c := command("stats [OPTIONS] [CONTAINER...]", "Display a live stream of container(s) resource usage statistics", cobra.ArbitraryArgs,
		a.withContainers(func(ctx context.Context, store *container.Store, args []string) error {
			if format == "" {
				format = formatter.TableFormatKey
			}
			sampler := engine.NewSampler(store)
			if _, err := sampler.Round(args, all); err != nil { // the base CPU % is measured from
				return err
			}
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-tick.C:
				}
				rows, err := sampler.Round(args, all)
				if err != nil {
					return err
				}
				if !noStream {
					fmt.Fprint(a.stdout, "\033[2J\033[H") // redraw, as docker does
				}
				out := formatter.Context{Output: a.stdout, Format: formatter.Format(format)}
				if err := engine.WriteStats(out, rows, !noTrunc); err != nil || noStream {
					return err
				}
			}
		}))
	c.Long = `Display a live stream of containers' resource usage statistics, redrawn
every second until interrupted: CPU % (of one CPU's time, over the last
second), memory (the container's memory cgroup when it has a limit, else
its processes' share of resident memory (PSS); the limit, else the host's memory),
network I/O of its interfaces, block I/O and the number of processes.
Without CONTAINER arguments, all running containers (all with -a).`
	c.Example = `  lade stats --no-stream
  lade stats --format '{{.Name}}: {{.MemUsage}}' web`
	c.Flags().BoolVarP(&all, "all", "a", false, "show all containers (default shows just running)")
	c.Flags().BoolVar(&noStream, "no-stream", false, "disable streaming stats and only pull the first result")
	c.Flags().BoolVar(&noTrunc, "no-trunc", false, "do not truncate output")
	c.Flags().StringVar(&format, "format", "", "format output using a custom template: 'table', 'table TEMPLATE', 'json' or a Go template")
	return c
}
