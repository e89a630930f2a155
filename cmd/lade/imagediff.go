package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/imagediff"
)

func init() {
	commands = append(commands, (*app).imageCmd)
}

// imageCmd is `lade image`, docker's management command for images; it
// holds what has no top-level form.
func (a *app) imageCmd() *cobra.Command {
	c := &cobra.Command{Use: "image", Short: "Manage images"}
	c.AddCommand(a.imageDiffCmd(), a.imageInspectCmd())
	return c
}

func (a *app) imageDiffCmd() *cobra.Command {
	var format, platform string
	c := &cobra.Command{
		Use:   "diff [--format text|json] IMAGE_A IMAGE_B",
		Short: "Compare two images: manifest, config fields, and files layer by layer",
		Long: "Compare two images as diffoci does. Exits 0 when they are identical, 1 with a\n" +
			"report naming each differing config field and file (per layer) when they differ.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return statusError{125, fmt.Errorf("--format: %q is not text or json", format)}
			}
			p, err := v1.ParsePlatform(platform)
			if err != nil {
				return statusError{125, fmt.Errorf("--platform: %w", err)}
			}
			if err := a.open(); err != nil {
				return err
			}
			var imgs [2]v1.Image
			for i, ref := range args {
				// The local store first, then the registry, as FROM.
				if imgs[i], err = a.Resolve(cmd.Context(), ref, *p); err != nil {
					return err
				}
			}
			r, err := imagediff.Compare(cmd.Context(), imgs[0], imgs[1])
			if err != nil {
				return err
			}
			return printDiff(a.stdout, r, format)
		},
	}
	c.Flags().StringVar(&format, "format", "text", "report format: text or json")
	c.Flags().StringVar(&platform, "platform", "linux/"+runtime.GOARCH, "platform to compare in multi-platform images")
	return c
}

// printDiff writes the report; with differences it returns exitError{1}.
// Text is one line per difference, or none when identical.
func printDiff(w io.Writer, r *imagediff.Report, format string) error {
	if format == "json" {
		b, err := json.MarshalIndent(r, "", "    ")
		if err != nil {
			return err
		}
		fmt.Fprintln(w, string(b))
	} else {
		for _, d := range r.Differences {
			fmt.Fprintln(w, d.String())
		}
	}
	if !r.Identical {
		return exitError{1}
	}
	return nil
}
