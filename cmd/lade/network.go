package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

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

// networks opens the root's network store, and alive says which
// containers are running (their addresses are taken).
func (a *app) networks() (*network.Store, func(string) bool, error) {
	cs, err := a.containers()
	if err != nil {
		return nil, nil, err
	}
	ns, err := network.Open(filepath.Join(a.root, "networks"))
	return ns, cs.Running, err
}

func (a *app) networkCreateCmd() *cobra.Command {
	var o network.CreateOptions
	var labels []string
	c := &cobra.Command{
		Use:   "create [OPTIONS] NAME",
		Short: "Create a bridge network",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, _, err := a.networks()
			if err != nil {
				return err
			}
			o.Name = args[0]
			if len(labels) > 0 {
				o.Labels = map[string]string{}
				for _, l := range labels {
					k, v, _ := strings.Cut(l, "=")
					o.Labels[k] = v
				}
			}
			n, err := ns.Create(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, n.ID)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&o.Subnet, "subnet", "", "subnet in CIDR form (default: a free one of 172.17-31.0.0/16, 192.168.x.0/24)")
	fl.StringVar(&o.Gateway, "gateway", "", "gateway address (default: the subnet's first)")
	fl.BoolVar(&o.Internal, "internal", false, "no outbound access (no route, no NAT)")
	fl.StringArrayVar(&labels, "label", nil, "set a label KEY=VALUE")
	fl.StringP("driver", "d", "bridge", "network driver (only bridge)")
	return c
}

func (a *app) networkLsCmd() *cobra.Command {
	var quiet bool
	var format string
	var filters []string
	c := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, _, err := a.networks()
			if err != nil {
				return err
			}
			nets, _, err := ns.List(cmd.Context())
			if err != nil {
				return err
			}
			if nets, err = network.Filter(nets, filters); err != nil {
				return err
			}
			return a.printNetworks(nets, quiet, format)
		},
	}
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "only print IDs")
	c.Flags().StringVar(&format, "format", "", "Go template per network: {{.ID}} {{.Name}} {{.Driver}} {{.Subnet}} {{.Gateway}} {{.Internal}} {{.Labels}}")
	c.Flags().StringArrayVarP(&filters, "filter", "f", nil, "filter: name=, id=, label=KEY[=VALUE], driver=, type=builtin|custom")
	return c
}

func (a *app) printNetworks(nets []*network.Network, quiet bool, format string) error {
	if format != "" && !quiet {
		tmpl, err := template.New("format").Parse(format)
		if err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		for _, n := range nets {
			if err := tmpl.Execute(a.stdout, n); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout)
		}
		return nil
	}
	tw := a.table(quiet, "NETWORK ID\tNAME\tDRIVER\tSCOPE")
	for _, n := range nets {
		if quiet {
			fmt.Fprintln(tw, n.ID[:12])
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\tlocal\n", n.ID[:12], n.Name, n.Driver)
		}
	}
	return tw.Flush()
}

// networkView is inspect's record: the network and its running containers.
type networkView struct {
	*network.Network
	Containers map[string]*network.Endpoint `json:"containers"`
}

func (a *app) networkInspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NETWORK...",
		Short: "Show networks as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, alive, err := a.networks()
			if err != nil {
				return err
			}
			_, eps, err := ns.List(cmd.Context())
			if err != nil {
				return err
			}
			return inspectAll(a, args, func(ref string) (networkView, error) {
				n, err := ns.Get(cmd.Context(), ref)
				if err != nil {
					return networkView{}, err
				}
				v := networkView{Network: n, Containers: map[string]*network.Endpoint{}}
				for _, e := range eps {
					if e.Network == n.ID && alive(e.Container) {
						v.Containers[e.Container] = e
					}
				}
				return v, nil
			})
		},
	}
}

func (a *app) networkRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "rm NETWORK...",
		Aliases: []string{"remove"},
		Short:   "Remove networks no running container uses",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, alive, err := a.networks()
			if err != nil {
				return err
			}
			return a.each(args, func(ref string) error { return ns.Remove(cmd.Context(), ref, alive) })
		},
	}
}

func (a *app) networkPruneCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "prune [-f]",
		Short: "Remove the user-defined networks no container uses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			removed, err := a.pruneNetworks(cmd.Context())
			printList(a, "Deleted Networks:", removed)
			return err
		},
	}
	c.Flags().BoolP("force", "f", false, "do not prompt (lade never prompts)")
	return c
}

// pruneNetworks removes the user-defined networks that no container,
// running or not, is on (docker's "unused").
func (a *app) pruneNetworks(ctx context.Context) ([]string, error) {
	ns, alive, err := a.networks()
	if err != nil {
		return nil, err
	}
	cs, err := a.containers()
	if err != nil {
		return nil, err
	}
	all, err := cs.List()
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, c := range all {
		used[c.Network] = true
	}
	return ns.Prune(ctx, alive, used)
}

func (a *app) networkConnectCmd() *cobra.Command {
	var aliases []string
	c := &cobra.Command{
		Use:   "connect [--alias NAME] NETWORK CONTAINER",
		Short: "Connect a running container to a network until its process ends",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, c, err := a.container(args[1])
			if err != nil {
				return err
			}
			return store.ConnectNetwork(cmd.Context(), c, args[0], aliases)
		},
	}
	c.Flags().StringArrayVar(&aliases, "alias", nil, "another name the container is found by on the network")
	return c
}

func (a *app) networkDisconnectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "disconnect NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, c, err := a.container(args[1])
			if err != nil {
				return err
			}
			return store.DisconnectNetwork(cmd.Context(), c, args[0])
		},
	}
}
