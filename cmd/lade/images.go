package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/docker/cli/cli/command/formatter"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/attest"
	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/images"
)

func init() {
	commands = append(commands, (*app).imagesCmd)
	commands = append(commands, (*app).importCmd)
}

func (a *app) imagesCmd() *cobra.Command {
	var quiet, digests, tree, noTrunc bool
	var format string
	var o engine.ImageListOptions
	c := command("images [OPTIONS] [REPOSITORY[:TAG]]", "List images in the local store", cobra.MaximumNArgs(1), a.withStores(func(ctx context.Context, args []string) error {
		o.Ref = optionalArg(args)
		if tree && !quiet {
			list, err := a.images.List(ctx)
			if err != nil {
				return err
			}
			return a.imagesTree(ctx, list)
		}
		sums, err := engine.ListImages(ctx, a.images, o)
		if err != nil {
			return statusError{125, err}
		}
		if format == "" {
			format = formatter.TableFormatKey
		}
		fctx := formatter.ImageContext{Digest: digests, Context: formatter.Context{
			Output: a.stdout, Format: formatter.NewImageFormat(format, quiet, digests), Trunc: !noTrunc}}
		return formatter.ImageWrite(fctx, sums)
	}))
	fl := c.Flags()
	fl.BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	fl.BoolVar(&digests, "digests", false, "show digests")
	fl.BoolVar(&noTrunc, "no-trunc", false, "don't truncate output")
	fl.BoolVar(&tree, "tree", false, "show each multi-platform image's platforms under it")
	fl.StringVar(&format, "format", "", "format the output with a Go template, 'table', 'table TEMPLATE' or 'json'")
	fl.StringArrayVarP(&o.Filters, "filter", "f", nil, "filter: reference, dangling, label, before, since, until")
	return c
}

// imagesTree is docker's images --tree: one row per name, then one per
// platform of a multi-platform image, marked when it is not stored.
func (a *app) imagesTree(ctx context.Context, list []images.Entry) error {
	tw := a.table(false, "IMAGE\tID\tSIZE\tEXTRA")
	for _, e := range list {
		names := e.Names
		if len(names) == 0 {
			names = []string{"<none>:<none>"}
		}
		for _, n := range names {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\n", n, shortID(e.ImageID()), humanSize(e.Size))
		}
		if !e.IsIndex() {
			continue
		}
		all, err := a.images.IndexEntries(ctx, e.Digest)
		if err != nil {
			return err
		}
		// Attestation manifests are about an image, not one: docker hides them too.
		entries := slices.DeleteFunc(all, func(c images.IndexEntry) bool { return attest.IsAttestation(c.Descriptor) })
		for i, c := range entries {
			branch, plat, extra := "├─ ", "unknown", ""
			if i == len(entries)-1 {
				branch = "└─ "
			}
			if p := c.Descriptor.Platform; p != nil {
				plat = images.PlatformString(*p)
			}
			if !c.Available {
				extra = "not stored"
			}
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", branch, plat, shortID(c.Descriptor.Digest), humanSize(c.Size), extra)
		}
	}
	return tw.Flush()
}

// shortID is the 12 hex digits docker shows of an ID or digest.
func shortID(d v1.Hash) string {
	if len(d.Hex) > 12 {
		return d.Hex[:12]
	}
	return d.Hex
}

func (a *app) importCmd() *cobra.Command {
	var opts images.ImportOptions
	c := command("import [OPTIONS] TARBALL|- [REPOSITORY[:TAG]]", "Create an image from a root filesystem tarball", cobra.RangeArgs(1, 2),
		a.withStores(func(ctx context.Context, args []string) error {
			var r io.Reader = a.stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			opts.Created = time.Now().UTC()
			if t, err := sourceDateEpoch(); err != nil {
				return err
			} else if t != nil {
				opts.Created = *t
			}
			img, err := a.images.Import(ctx, r, name, opts)
			if err != nil {
				return fmt.Errorf("importing %s: %w", args[0], err)
			}
			id, err := img.ConfigName()
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, id.String())
			return nil
		}))
	c.Flags().StringArrayVarP(&opts.Changes, "change", "c", nil, "apply a Dockerfile instruction to the image's config (CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR)")
	c.Flags().StringVarP(&opts.Message, "message", "m", "", "set the commit message (the history comment) of the image")
	return c
}

func ago(t time.Time) string {
	if t.IsZero() || t.Unix() <= 0 {
		return "N/A"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "Less than a minute ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days ago", int(d.Hours()/24))
	}
}

func humanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB"} {
		f /= unit
		if f < unit {
			return fmt.Sprintf("%.3g%s", f, u)
		}
	}
	return fmt.Sprintf("%.3gPB", f/unit)
}

// image opens the stores and looks ref up in the image store.
func (a *app) image(ctx context.Context, ref string) (v1.Image, error) {
	if err := a.open(); err != nil {
		return nil, err
	}
	return a.images.Get(ctx, ref)
}

// imageOrIndex is what ref names: a multi-platform index (idx set) or a
// single image.
func (a *app) imageOrIndex(ctx context.Context, ref string) (img v1.Image, idx v1.ImageIndex, err error) {
	if err := a.open(); err != nil {
		return nil, nil, err
	}
	idx, err = a.images.GetIndex(ctx, ref)
	if err == nil {
		return nil, idx, nil
	}
	if !errors.Is(err, images.ErrNotIndex) {
		return nil, nil, err
	}
	img, err = a.images.Get(ctx, ref)
	return img, nil, err
}
