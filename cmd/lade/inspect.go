package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"text/tabwriter"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/images"
)

func init() {
	commands = append(commands, (*app).inspectCmd, (*app).historyCmd)
}

// imageInspect is one element of `lade inspect`'s array, with docker
// image inspect's field names. Size is the compressed size of the layers
// and config as stored (docker reports the unpacked size).
type imageInspect struct {
	ID            string      `json:"Id"`
	RepoTags      []string    `json:"RepoTags"`
	RepoDigests   []string    `json:"RepoDigests"`
	Parent        string      `json:"Parent"`
	Comment       string      `json:"Comment"`
	Created       string      `json:"Created"`
	DockerVersion string      `json:"DockerVersion"`
	Author        string      `json:"Author"`
	Config        v1.Config   `json:"Config"`
	Architecture  string      `json:"Architecture"`
	Variant       string      `json:"Variant,omitempty"`
	Os            string      `json:"Os"`
	Size          int64       `json:"Size"`
	RootFS        inspectRoot `json:"RootFS"`
}

type inspectRoot struct {
	Type   string   `json:"Type"`
	Layers []string `json:"Layers"`
}

func (a *app) inspectCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "inspect IMAGE [IMAGE...]",
		Short: "Show low-level information on images as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(); err != nil {
				return err
			}
			out := []imageInspect{}
			var missing []string
			for _, ref := range args {
				ii, err := a.inspect(cmd.Context(), ref)
				if errors.Is(err, images.ErrNotFound) {
					missing = append(missing, ref)
					continue
				}
				if err != nil {
					return err
				}
				out = append(out, ii)
			}
			b, err := json.MarshalIndent(out, "", "    ")
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, string(b))
			if len(missing) > 0 {
				return fmt.Errorf("No such image: %s", strings.Join(missing, ", "))
			}
			return nil
		},
	}
}

func (a *app) inspect(ctx context.Context, ref string) (imageInspect, error) {
	img, err := a.images.Get(ctx, ref)
	if err != nil {
		return imageInspect{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return imageInspect{}, err
	}
	id, err := img.ConfigName()
	if err != nil {
		return imageInspect{}, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return imageInspect{}, err
	}
	e, err := a.entry(ctx, d)
	if err != nil {
		return imageInspect{}, err
	}
	ii := imageInspect{
		ID:            id.String(),
		RepoTags:      []string{},
		RepoDigests:   []string{},
		Created:       cfg.Created.UTC().Format(time.RFC3339Nano),
		DockerVersion: cfg.DockerVersion,
		Author:        cfg.Author,
		Config:        cfg.Config,
		Architecture:  cfg.Architecture,
		Variant:       cfg.Variant,
		Os:            cfg.OS,
		Size:          e.Size,
		RootFS:        inspectRoot{Type: cfg.RootFS.Type, Layers: []string{}},
	}
	// lade keeps manifests as pulled or pushed, so every tagged
	// repository serves this image under the same manifest digest.
	seen := map[string]bool{}
	for _, n := range e.Names {
		ii.RepoTags = append(ii.RepoTags, n)
		repo, _ := splitTag(n)
		if !seen[repo] {
			seen[repo] = true
			ii.RepoDigests = append(ii.RepoDigests, repo+"@"+d.String())
		}
	}
	for _, l := range cfg.RootFS.DiffIDs {
		ii.RootFS.Layers = append(ii.RootFS.Layers, l.String())
	}
	return ii, nil
}

func (a *app) historyCmd() *cobra.Command {
	var noTrunc, quiet bool
	c := &cobra.Command{
		Use:   "history [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.open(); err != nil {
				return err
			}
			img, err := a.images.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			rows, err := historyRows(img)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 3, ' ', 0)
			if !quiet {
				fmt.Fprintln(tw, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT")
			}
			for _, r := range rows {
				id := r.id
				if !noTrunc && id != "<missing>" {
					id = strings.TrimPrefix(id, "sha256:")[:12]
				}
				if quiet {
					fmt.Fprintln(tw, id)
					continue
				}
				by := strings.ReplaceAll(r.createdBy, "\t", " ")
				comment := r.comment
				if !noTrunc {
					by = ellipsis(by, 45)
					by = strings.ReplaceAll(by, "\n", " ")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", id, ago(r.created), by, humanSize(r.size), comment)
			}
			return tw.Flush()
		},
	}
	c.Flags().BoolVar(&noTrunc, "no-trunc", false, "don't truncate output")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	return c
}

type historyRow struct {
	id        string
	created   time.Time
	createdBy string
	size      int64
	comment   string
}

// historyRows pairs history entries with layers (entries marked
// empty_layer have none) and returns them newest first; only the newest
// row has an ID, as with images lade did not build step by step.
func historyRows(img v1.Image) ([]historyRow, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	id, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	var rows []historyRow
	li := 0
	for _, h := range cfg.History {
		r := historyRow{id: "<missing>", created: h.Created.Time, createdBy: h.CreatedBy, comment: h.Comment}
		if !h.EmptyLayer && li < len(m.Layers) {
			r.size = m.Layers[li].Size
			li++
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		rows = append(rows, historyRow{created: cfg.Created.Time})
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	rows[0].id = id.String()
	return rows, nil
}

func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// filterImages applies `lade images --filter` (reference=PATTERN,
// dangling=true|false); several filters must all match.
func filterImages(list []images.Entry, filters []string) ([]images.Entry, error) {
	var refs []string
	dangling := ""
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("bad format of filter %q (expected name=value)", f)
		case k == "reference":
			if _, err := path.Match(v, ""); err != nil {
				return nil, fmt.Errorf("invalid reference filter %q: %w", v, err)
			}
			refs = append(refs, v)
		case k == "dangling" && (v == "true" || v == "false"):
			dangling = v
		case k == "dangling":
			return nil, fmt.Errorf("invalid filter 'dangling=%s'", v)
		default:
			return nil, fmt.Errorf("invalid filter %q", k)
		}
	}
	var out []images.Entry
	for _, e := range list {
		if dangling == "true" && len(e.Names) > 0 || dangling == "false" && len(e.Names) == 0 {
			continue
		}
		if len(refs) > 0 {
			var keep []string
			for _, n := range e.Names {
				repo, _ := splitTag(n)
				for _, p := range refs {
					if m1, _ := path.Match(p, n); m1 {
						keep = append(keep, n)
						break
					}
					if m2, _ := path.Match(p, repo); m2 {
						keep = append(keep, n)
						break
					}
				}
			}
			if len(keep) == 0 {
				continue
			}
			e.Names = keep
		}
		out = append(out, e)
	}
	return out, nil
}
