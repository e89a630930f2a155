package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/term"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/container"
)

func init() {
	commands = append(commands, (*app).attachCmd)
}

// attachCmd is docker attach: lade's stdio connected to a running
// container's (one run -d or started in the background).
func (a *app) attachCmd() *cobra.Command {
	var detachKeys string
	var noStdin, sigProxy bool
	c := command("attach [OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a running container", cobra.ExactArgs(1),
		a.withContainers(func(ctx context.Context, store *container.Store, args []string) error {
			ctr, err := store.Get(args[0])
			if err != nil {
				return a.failed(err)
			}
			o := container.AttachOptions{Stdout: a.stdout, Stderr: a.stderr, SigProxy: sigProxy}
			if !noStdin {
				o.Stdin = a.stdin
				if ctr.Tty {
					// Raw: keys, the detach keys included, reach the container.
					term, err := container.OpenTerminal(a.stdin, a.stdout, true)
					if err != nil {
						return a.failed(fmt.Errorf("setting up the terminal: %w", err))
					}
					defer term.Close()
				}
			}
			if o.DetachKeys, err = term.ToBytes(detachKeys); err != nil {
				return statusError{125, fmt.Errorf("--detach-keys: %w", err)}
			}
			if sigProxy {
				ctx = context.WithoutCancel(ctx) // ^C goes to the container
			}
			code, err := store.Attach(ctx, ctr.ID, o)
			switch {
			case errors.Is(err, container.ErrDetached):
				// docker's words and status for a detach.
				fmt.Fprintln(a.stderr, "read escape sequence")
				return exitError{1}
			case err != nil:
				return a.failed(err)
			case code != 0:
				return exitError{code}
			}
			return nil
		}))
	fl := c.Flags()
	fl.StringVar(&detachKeys, "detach-keys", "ctrl-p,ctrl-q", "key sequence that detaches from the container")
	fl.BoolVar(&noStdin, "no-stdin", false, "do not attach stdin")
	fl.BoolVar(&sigProxy, "sig-proxy", true, "pass the signals lade receives on to the process (without -t)")
	return c
}
