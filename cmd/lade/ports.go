package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lade-build/lade/container"
)

func init() { commands = append(commands, (*app).portCmd) }

func (a *app) portCmd() *cobra.Command {
	return command("port CONTAINER [PRIVATE_PORT[/PROTO]]", "List a container's published ports, or the host address of one", cobra.RangeArgs(1, 2),
		func(_ context.Context, args []string) error {
			_, c, err := a.container(args[0])
			if err != nil {
				return err
			}
			var want string
			if len(args) == 2 {
				p, err := container.ParsePort(args[1])
				if err != nil || p.HostPort != 0 || p.HostIP != "" {
					return fmt.Errorf("invalid port %q: want PRIVATE_PORT[/tcp|udp]", args[1])
				}
				want = p.Key()
			}
			// Only a container that is up has its ports published.
			up := len(c.State.Ports) > 0 || c.State.Status == container.StatusRunning || c.State.Status == container.StatusRestarting
			if !up {
				if want != "" {
					return a.failed(fmt.Errorf("no public port '%s' published for %s", want, args[0]))
				}
				return nil
			}
			found := false
			for _, p := range c.Bindings() {
				key := p.Key()
				if want != "" && key != want {
					continue
				}
				found = true
				for _, addr := range p.HostAddrs() {
					if want != "" {
						fmt.Fprintln(a.stdout, addr)
					} else {
						fmt.Fprintf(a.stdout, "%s -> %s\n", key, addr)
					}
				}
			}
			if want != "" && !found {
				return a.failed(fmt.Errorf("no public port '%s' published for %s", want, args[0]))
			}
			return nil
		})
}
