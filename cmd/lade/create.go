package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func init() {
	commands = append(commands, (*app).createCmd)
}

// createCmd is docker create: run's container options, without running
// it; start runs it later.
func (a *app) createCmd() *cobra.Command {
	f := &runFlags{}
	var c *cobra.Command
	c = command("create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container without starting it", cobra.MinimumNArgs(1), func(ctx context.Context, args []string) error {
		streams, err := attachStreams(f.attach, f.OpenStdin)
		if err != nil {
			return statusError{125, err}
		}
		f.AttachStdout, f.AttachStderr = streams.stdout, streams.stderr
		_, cfg, err := a.create(ctx, c, f, args[0], args[1:])
		if err != nil {
			return statusError{125, err}
		}
		fmt.Fprintln(a.stdout, cfg.ID)
		return nil
	})
	a.createFlags(c, f)
	c.Flags().StringArrayVarP(&f.attach, "attach", "a", nil, "record the streams to attach: STDIN, STDOUT or STDERR (default: STDOUT and STDERR), as inspect's Config.Attach*")
	return c
}
