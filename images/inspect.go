package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Inspect is an image as `lade inspect` shows it, with docker image
// inspect's field names. Size is the compressed size of the layers
// and config as stored (docker reports the unpacked size).
type Inspect struct {
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
	RootFS        InspectRoot `json:"RootFS"`
	// Manifests are an index's entries, as docker's containerd store
	// shows them; the fields above describe the platform picked.
	Manifests []IndexEntry `json:"Manifests,omitempty"`
}

// InspectRoot is the image's layer chain.
type InspectRoot struct {
	Type   string   `json:"Type"`
	Layers []string `json:"Layers"`
}

// Inspect describes the image ref names; for an index (a multi-platform
// image), its image for platform (nil: the host's) and its entries, with
// the index's digest as ID as in docker's containerd store.
func (s *Store) Inspect(ctx context.Context, ref string, platform *v1.Platform) (Inspect, error) {
	img, err := s.inspected(ctx, ref, platform)
	if err != nil {
		return Inspect{}, err
	}
	d, id, err := identity(img)
	if err != nil {
		return Inspect{}, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return Inspect{}, err
	}
	var entries []IndexEntry
	if ix, err := s.GetIndex(ctx, ref); err == nil {
		if d, err = ix.Digest(); err != nil {
			return Inspect{}, err
		}
		id = d
		if entries, err = s.IndexEntries(ctx, d); err != nil {
			return Inspect{}, err
		}
	}
	e, err := s.entry(ctx, d)
	if err != nil {
		return Inspect{}, err
	}
	// docker's "comment" (commit -m, import -m) is no v1.ConfigFile field.
	var extra struct {
		Comment string `json:"comment"`
	}
	if raw, err := img.RawConfigFile(); err == nil {
		_ = json.Unmarshal(raw, &extra)
	}
	ii := Inspect{
		Comment:       extra.Comment,
		Created:       rfc3339(cfg.Created.Time),
		ID:            id.String(),
		RepoTags:      []string{},
		RepoDigests:   []string{},
		DockerVersion: cfg.DockerVersion,
		Author:        cfg.Author,
		Config:        cfg.Config,
		Architecture:  cfg.Architecture,
		Variant:       cfg.Variant,
		Os:            cfg.OS,
		Size:          e.Size,
		RootFS:        InspectRoot{Type: cfg.RootFS.Type, Layers: []string{}},
		Manifests:     entries,
	}
	// lade keeps manifests as pulled or pushed, so every tagged
	// repository serves this image under the same manifest digest.
	seen := map[string]bool{}
	for _, n := range e.Names {
		ii.RepoTags = append(ii.RepoTags, n)
		repo, _ := SplitTag(n)
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

// inspected is the image Inspect describes: platform's, else the host's,
// else, for an index without the host's platform, its first image.
func (s *Store) inspected(ctx context.Context, ref string, platform *v1.Platform) (v1.Image, error) {
	if platform != nil {
		return s.GetPlatform(ctx, ref, *platform)
	}
	img, err := s.Get(ctx, ref)
	if !errors.Is(err, ErrNotFound) {
		return img, err
	}
	ix, ierr := s.GetIndex(ctx, ref)
	if ierr != nil {
		return nil, err
	}
	im, ierr := ix.IndexManifest()
	if ierr != nil {
		return nil, err
	}
	for _, m := range im.Manifests {
		if m.MediaType.IsImage() {
			return ix.Image(m.Digest)
		}
	}
	return nil, err
}

// entry is the index entry of manifest d; only its digest when untagged
// and unlisted.
func (s *Store) entry(ctx context.Context, d v1.Hash) (Entry, error) {
	list, err := s.List(ctx)
	if err != nil {
		return Entry{}, err
	}
	for _, e := range list {
		if e.Digest == d {
			return e, nil
		}
	}
	return Entry{Digest: d}, nil
}

// SplitTag splits a name into repository and tag, "<none>" without one.
func SplitTag(n string) (string, string) {
	if i := strings.LastIndex(n, ":"); i > strings.LastIndex(n, "/") {
		return n[:i], n[i+1:]
	}
	return n, "<none>"
}

// HistoryRow is one line of `lade history`.
type HistoryRow struct {
	ID        string
	Created   time.Time
	CreatedBy string
	Size      int64
	Comment   string
}

// History pairs history entries with layers (entries marked
// empty_layer have none) and returns them newest first; only the newest
// row has an ID, as with images lade did not build step by step.
func History(img v1.Image) ([]HistoryRow, error) {
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
	var rows []HistoryRow
	li := 0
	for _, h := range cfg.History {
		r := HistoryRow{ID: "<missing>", Created: h.Created.Time, CreatedBy: h.CreatedBy, Comment: h.Comment}
		if !h.EmptyLayer && li < len(m.Layers) {
			r.Size = m.Layers[li].Size
			li++
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		rows = append(rows, HistoryRow{Created: cfg.Created.Time})
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	rows[0].ID = id.String()
	return rows, nil
}

// Filter applies `lade images --filter` (reference=PATTERN,
// dangling=true|false); several filters must all match.
func Filter(list []Entry, filters []string) ([]Entry, error) {
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
	var out []Entry
	for _, e := range list {
		if dangling == "true" && len(e.Names) > 0 || dangling == "false" && len(e.Names) == 0 {
			continue
		}
		if len(refs) > 0 {
			var keep []string
			for _, n := range e.Names {
				repo, _ := SplitTag(n)
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

// rfc3339 is t as inspect's Created: empty when the image has no time,
// as dockerd.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
