package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/images"
)

func init() { commands = append(commands, (*app).commitCmd) }

func (a *app) commitCmd() *cobra.Command {
	var o images.CommitOptions
	var pause, noPause bool
	var c *cobra.Command
	c = command("commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes", cobra.RangeArgs(1, 2),
		a.withStores(func(ctx context.Context, args []string) error {
			if c.Flags().Changed("pause") && c.Flags().Changed("no-pause") {
				return errors.New("conflicting options: --no-pause and --pause cannot be used together")
			}
			store, err := a.containers()
			if err != nil {
				return err
			}
			if len(args) == 2 {
				o.Ref = args[1]
			}
			st := engine.Stores{Containers: store, Images: a.images}
			img, err := st.Commit(ctx, args[0], o)
			if err != nil {
				return a.failed(err)
			}
			id, err := img.ConfigName()
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, id)
			return nil
		}))
	c.Long = `Create a new image from a container's changes: the container's image
plus one layer holding what the container changed (deletions as
whiteouts), with the container's command, environment, working directory
and user, then the --change instructions applied. lade does not pause the
container while it commits (--pause and --no-pause are accepted).`
	c.Example = `  lade commit web my/web:v2
  lade commit -c 'CMD ["nginx", "-g", "daemon off;"]' -c 'EXPOSE 80' -m 'tuned' web my/web:v3`
	c.Flags().SetInterspersed(false)
	c.Flags().StringArrayVarP(&o.Changes, "change", "c", nil, "apply Dockerfile instruction to the created image")
	c.Flags().StringVarP(&o.Comment, "message", "m", "", "commit message")
	c.Flags().StringVarP(&o.Author, "author", "a", "", `author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	c.Flags().BoolVarP(&pause, "pause", "p", true, "pause container during commit (accepted; lade does not pause)")
	c.Flags().BoolVar(&noPause, "no-pause", false, "disable pausing container during commit (lade never pauses)")
	return c
}
