package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/command/formatter"
	ntypes "github.com/moby/moby/api/types/network"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/network"
)

func init() {
	commands = append(commands, (*app).networkCmd)
}

func (a *app) networkCmd() *cobra.Command {
	c := &cobra.Command{Use: "network", Short: "Manage networks"}
	c.AddCommand(a.networkCreateCmd(), a.networkLsCmd(), a.networkInspectCmd(), a.networkRmCmd(), a.networkPruneCmd(),
		a.networkConnectCmd(), a.networkDisconnectCmd())
	return c
}

// withNetworks is run with the root's network store opened; alive says
// which containers are running (their addresses are taken).
func (a *app) withNetworks(run func(ctx context.Context, ns *network.Store, alive func(string) bool, args []string) error) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		cs, err := a.containers()
		if err != nil {
			return err
		}
		ns, err := network.Open(filepath.Join(a.root, "networks"))
		if err != nil {
			return err
		}
		return run(ctx, ns, cs.Running, args)
	}
}

func (a *app) networkCreateCmd() *cobra.Command {
	var o network.CreateOptions
	var labels []string
	c := command("create [OPTIONS] NAME", "Create a bridge network", cobra.ExactArgs(1),
		a.withNetworks(func(ctx context.Context, ns *network.Store, _ func(string) bool, args []string) error {
			o.Name = args[0]
			if len(labels) > 0 {
				o.Labels = map[string]string{}
				for _, l := range labels {
					k, v, _ := strings.Cut(l, "=")
					o.Labels[k] = v
				}
			}
			n, err := ns.Create(ctx, o)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, n.ID)
			return nil
		}))
	fl := c.Flags()
	fl.StringVar(&o.Subnet, "subnet", "", "subnet in CIDR form (default: a free one of 172.17-31.0.0/16, 192.168.x.0/24)")
	fl.StringVar(&o.Gateway, "gateway", "", "gateway address (default: the subnet's first)")
	fl.BoolVar(&o.Internal, "internal", false, "no outbound access (no route, no NAT)")
	fl.StringArrayVar(&labels, "label", nil, "set a label KEY=VALUE")
	fl.StringP("driver", "d", "bridge", "network driver (only bridge)")
	return c
}

func (a *app) networkLsCmd() *cobra.Command {
	var quiet, noTrunc bool
	var format string
	var filters []string
	c := command("ls [OPTIONS]", "List networks", cobra.NoArgs,
		a.withNetworks(func(ctx context.Context, ns *network.Store, _ func(string) bool, _ []string) error {
			nets, _, err := ns.List(ctx)
			if err != nil {
				return err
			}
			if nets, err = network.Filter(nets, filters); err != nil {
				return err
			}
			sums := make([]ntypes.Summary, 0, len(nets))
			for _, n := range nets {
				sums = append(sums, engine.NetworkSummary(n))
			}
			fctx := formatter.Context{Output: a.stdout, Format: engine.NewNetworkFormat(format, quiet), Trunc: !noTrunc}
			return engine.NetworkWrite(fctx, sums)
		}))
	c.Aliases = []string{"list"}
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "only print IDs")
	c.Flags().BoolVar(&noTrunc, "no-trunc", false, "do not truncate the output")
	c.Flags().StringVar(&format, "format", "", "format the output with a Go template, 'table', 'table TEMPLATE' or 'json'")
	c.Flags().StringArrayVarP(&filters, "filter", "f", nil, "filter: name=, id=, label=KEY[=VALUE], driver=, type=builtin|custom")
	return c
}

func (a *app) networkInspectCmd() *cobra.Command {
	return a.kindInspectCmd("network", "inspect [OPTIONS] NETWORK...", "Show networks as JSON")
}

func (a *app) networkRmCmd() *cobra.Command {
	c := command("rm NETWORK...", "Remove networks no running container uses", cobra.MinimumNArgs(1),
		a.withNetworks(func(ctx context.Context, ns *network.Store, alive func(string) bool, args []string) error {
			return a.each(args, func(ref string) error { return ns.Remove(ctx, ref, alive) })
		}))
	c.Aliases = []string{"remove"}
	return c
}

func (a *app) networkPruneCmd() *cobra.Command {
	c := command("prune [-f]", "Remove the user-defined networks no container uses", cobra.NoArgs,
		func(ctx context.Context, _ []string) error {
			removed, err := a.pruneNetworks(ctx)
			printList(a, "Deleted Networks:", removed)
			return err
		})
	c.Flags().BoolP("force", "f", false, "do not prompt (lade never prompts)")
	return c
}

// pruneNetworks removes the user-defined networks that no container,
// running or not, is on (docker's "unused").
func (a *app) pruneNetworks(ctx context.Context) ([]string, error) {
	s, err := a.stores()
	if err != nil {
		return nil, err
	}
	return engine.PruneNetworks(ctx, s.Containers, s.Networks)
}

func (a *app) networkConnectCmd() *cobra.Command {
	var aliases []string
	c := command("connect [--alias NAME] NETWORK CONTAINER", "Connect a container to a network, now if it runs and at each start", cobra.ExactArgs(2),
		func(ctx context.Context, args []string) error {
			store, c, err := a.container(args[1])
			if err != nil {
				return err
			}
			return store.ConnectNetwork(ctx, c, args[0], aliases)
		})
	c.Flags().StringArrayVar(&aliases, "alias", nil, "another name the container is found by on the network")
	return c
}

func (a *app) networkDisconnectCmd() *cobra.Command {
	return command("disconnect NETWORK CONTAINER", "Disconnect a container from a network", cobra.ExactArgs(2),
		func(ctx context.Context, args []string) error {
			store, c, err := a.container(args[1])
			if err != nil {
				return err
			}
			return store.DisconnectNetwork(ctx, c, args[0])
		})
}
