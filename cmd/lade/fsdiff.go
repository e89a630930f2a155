package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, (*app).diffCmd, (*app).exportCmd) }

func (a *app) diffCmd() *cobra.Command {
	c := command("diff CONTAINER", "Inspect changes to files or directories on a container's filesystem", cobra.ExactArgs(1),
		func(ctx context.Context, args []string) error {
			store, c, err := a.container(args[0])
			if err != nil {
				return err
			}
			changes, err := store.Changes(ctx, &c.Config)
			if err != nil {
				return err
			}
			for _, ch := range changes {
				fmt.Fprintf(a.stdout, "%s %s\n", ch.Kind, ch.Path)
			}
			return nil
		})
	c.Long = `Inspect changes to files or directories on a container's filesystem
against its image: A (added), C (changed) or D (deleted), one path a line.`
	c.Example = `  lade diff web`
	return c
}

func (a *app) exportCmd() *cobra.Command {
	var output string
	c := command("export [OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive", cobra.ExactArgs(1),
		func(ctx context.Context, args []string) error {
			store, c, err := a.container(args[0])
			if err != nil {
				return err
			}
			export := func(w io.Writer) error { return store.Export(ctx, &c.Config, w) }
			if output != "" {
				return writeArchive(output, export)
			}
			if f, ok := a.stdout.(*os.File); ok && isTerminal(f) {
				return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
			}
			return export(a.stdout)
		})
	c.Example = `  lade export web > web.tar
  lade export -o web.tar web`
	c.Flags().StringVarP(&output, "output", "o", "", "write to a file, instead of STDOUT")
	return c
}
