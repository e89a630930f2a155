package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/images"
)

func init() {
	commands = append(commands, (*app).manifestCmd)
}

// manifestCmd is docker manifest: put together a multi-platform list
// from images in the store or in registries, and push it.
func (a *app) manifestCmd() *cobra.Command {
	c := &cobra.Command{Use: "manifest COMMAND", Short: "Manage multi-platform manifest lists (as docker manifest)", Args: cobra.NoArgs}
	c.AddCommand(a.manifestCreateCmd(), a.manifestAnnotateCmd(), a.manifestInspectCmd(), a.manifestPushCmd(), a.manifestRmCmd())
	return c
}

func (a *app) manifestCreateCmd() *cobra.Command {
	var amend bool
	c := command("create [--amend] MANIFEST_LIST MANIFEST [MANIFEST...]", "Create a local manifest list of images (local first, else from their registry)", cobra.MinimumNArgs(2),
		a.withStores(func(ctx context.Context, args []string) error {
			if _, err := a.images.ManifestCreate(ctx, args[0], args[1:], amend, a.insecure); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Created manifest list %s\n", args[0])
			return nil
		}))
	c.Flags().BoolVarP(&amend, "amend", "a", false, "add to an existing manifest list")
	return c
}

func (a *app) manifestAnnotateCmd() *cobra.Command {
	var p v1.Platform
	var features string
	c := command("annotate [OPTIONS] MANIFEST_LIST MANIFEST", "Set the platform of an entry of a local manifest list", cobra.ExactArgs(2),
		a.withStores(func(_ context.Context, args []string) error {
			if features != "" {
				p.OSFeatures = strings.Split(features, ",")
			}
			return a.images.ManifestAnnotate(args[0], args[1], p)
		}))
	fl := c.Flags()
	fl.StringVar(&p.OS, "os", "", "operating system")
	fl.StringVar(&p.Architecture, "arch", "", "architecture")
	fl.StringVar(&p.Variant, "variant", "", "architecture variant")
	fl.StringVar(&p.OSVersion, "os-version", "", "operating system version")
	fl.StringVar(&features, "os-features", "", "operating system features, comma-separated")
	return c
}

func (a *app) manifestInspectCmd() *cobra.Command {
	return command("inspect [MANIFEST_LIST] MANIFEST", "Show a local manifest list, or a manifest in a registry, as JSON", cobra.RangeArgs(1, 2),
		a.withStores(func(ctx context.Context, args []string) error {
			raw, err := a.images.ManifestInspect(ctx, args[0], a.insecure)
			if err != nil {
				return err
			}
			if len(args) == 2 {
				if raw, err = listEntry(raw, args[1]); err != nil {
					return err
				}
			}
			var out bytes.Buffer
			if err := json.Indent(&out, raw, "", "   "); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, out.String())
			return nil
		}))
}

// listEntry is the entry of the list raw whose digest is d.
func listEntry(raw []byte, d string) ([]byte, error) {
	var im v1.IndexManifest
	if err := json.Unmarshal(raw, &im); err != nil {
		return nil, err
	}
	for _, m := range im.Manifests {
		if m.Digest.String() == d {
			return json.Marshal(m)
		}
	}
	return nil, fmt.Errorf("manifest %s not found in the list", d)
}

func (a *app) manifestPushCmd() *cobra.Command {
	var purge bool
	c := command("push [--purge] MANIFEST_LIST", "Push a local manifest list and its images to the list's repository", cobra.ExactArgs(1),
		a.withStores(func(ctx context.Context, args []string) error {
			d, _, err := a.images.ManifestPush(ctx, args[0], images.PushOptions{Insecure: a.insecure})
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, d)
			if purge {
				return a.images.ManifestRemove(args[0])
			}
			return nil
		}))
	c.Flags().BoolVarP(&purge, "purge", "p", false, "remove the local manifest list after the push")
	return c
}

func (a *app) manifestRmCmd() *cobra.Command {
	return command("rm MANIFEST_LIST [MANIFEST_LIST...]", "Delete local manifest lists", cobra.MinimumNArgs(1),
		a.withStores(func(_ context.Context, args []string) error {
			var errs []error
			for _, l := range args {
				errs = append(errs, a.images.ManifestRemove(l))
			}
			return errors.Join(errs...)
		}))
}
