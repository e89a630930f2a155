package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lade-build/lade/images"
)

func init() {
	commands = append(commands, (*app).inspectCmd, (*app).historyCmd)
}

func (a *app) inspectCmd() *cobra.Command {
	var platform string
	c := command("inspect IMAGE [IMAGE...]", "Show low-level information on images as JSON", cobra.MinimumNArgs(1), a.withStores(func(ctx context.Context, args []string) error {
		plat, err := platformFlag(platform)
		if err != nil {
			return err
		}
		out := []images.Inspect{}
		var missing []string
		for _, ref := range args {
			ii, err := a.images.Inspect(ctx, ref, plat)
			if errors.Is(err, images.ErrNotFound) {
				missing = append(missing, ref)
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, ii)
		}
		if err := a.printJSON(out); err != nil {
			return err
		}
		if len(missing) > 0 {
			return fmt.Errorf("No such image: %s", strings.Join(missing, ", "))
		}
		return nil
	}))
	c.Flags().StringVar(&platform, "platform", "", "describe this platform's image of a multi-platform image (default: the host's)")
	return c
}

func (a *app) historyCmd() *cobra.Command {
	var noTrunc, quiet bool
	var platform string
	c := command("history [OPTIONS] IMAGE", "Show the history of an image", cobra.ExactArgs(1), func(ctx context.Context, args []string) error {
		plat, err := platformFlag(platform)
		if err != nil {
			return err
		}
		img, err := a.image(ctx, args[0])
		if err == nil && plat != nil {
			img, err = a.images.GetPlatform(ctx, args[0], *plat)
		}
		if err != nil {
			return err
		}
		rows, err := images.History(img)
		if err != nil {
			return err
		}
		tw := a.table(quiet, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT")
		for _, r := range rows {
			id := r.ID
			if !noTrunc && id != "<missing>" {
				id = strings.TrimPrefix(id, "sha256:")[:12]
			}
			if quiet {
				fmt.Fprintln(tw, id)
				continue
			}
			by := strings.ReplaceAll(r.CreatedBy, "\t", " ")
			comment := r.Comment
			if !noTrunc {
				by = ellipsis(by, 45)
				by = strings.ReplaceAll(by, "\n", " ")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", id, ago(r.Created), by, humanSize(r.Size), comment)
		}
		return tw.Flush()
	})
	c.Flags().BoolVar(&noTrunc, "no-trunc", false, "don't truncate output")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	c.Flags().StringVar(&platform, "platform", "", "show this platform's image of a multi-platform image (default: the host's)")
	return c
}

func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
