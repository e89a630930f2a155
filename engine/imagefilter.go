package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	itypes "github.com/moby/moby/api/types/image"

	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/internal/dockertime"
)

// ImageListOptions are docker images' selection: the REPO[:TAG]
// argument, --filter, and the containers counted per image ID.
type ImageListOptions struct {
	Ref     string
	Filters []string
	Users   map[string]int
}

// ListImages fills the records of the images in s that docker images
// shows with o, newest first.
func ListImages(ctx context.Context, s *images.Store, o ImageListOptions) ([]itypes.Summary, error) {
	f, err := ParseFilters(o.Filters, "label", "before", "since", "until", "dangling", "reference")
	if err != nil {
		return nil, err
	}
	list, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var byName []string
	for _, r := range append(slices.Clone(f["reference"]), o.Ref) {
		if r != "" {
			byName = append(byName, "reference="+r)
		}
	}
	for _, d := range f["dangling"] {
		byName = append(byName, "dangling="+strings.ToLower(d))
	}
	all, err := Summaries(ctx, s, list, o.Users)
	if err != nil {
		return nil, err
	}
	kept, err := images.Filter(list, byName)
	if err != nil {
		return nil, err
	}
	names := map[string][]string{}
	for _, e := range kept {
		names[e.Digest.String()] = e.Names
	}
	var sums []itypes.Summary
	for i, e := range list {
		if n, ok := names[e.Digest.String()]; ok {
			sum := all[i]
			sum.RepoTags, sum.RepoDigests = nonNil(n), repoDigests(n, e.Digest)
			sums = append(sums, sum)
		}
	}
	return filterSummaries(all, sums, f)
}

// filterSummaries applies label, before, since and until; all is every
// image, where before and since look their image up.
func filterSummaries(all, sums []itypes.Summary, f Filters) ([]itypes.Summary, error) {
	bound := func(key string) (int64, error) {
		for _, ref := range f[key] {
			for _, s := range all {
				if imageNamed(s, ref) {
					return s.Created, nil
				}
			}
			return 0, fmt.Errorf("no such image: %s", ref)
		}
		return 0, nil
	}
	before, err := bound("before")
	if err != nil {
		return nil, err
	}
	since, err := bound("since")
	if err != nil {
		return nil, err
	}
	var until int64
	for _, u := range f["until"] {
		t, err := parseTime(u, time.Now())
		if err != nil {
			return nil, fmt.Errorf("invalid filter 'until=%s': %w", u, err)
		}
		until = t.Unix()
	}
	out := []itypes.Summary{}
	for _, s := range sums {
		if before != 0 && s.Created >= before || since != 0 && s.Created <= since ||
			until != 0 && s.Created >= until || !f.matchLabels("label", s.Labels) {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// imageNamed says whether ref names s: a tag (":latest" implied) or a
// prefix of its ID.
func imageNamed(s itypes.Summary, ref string) bool {
	if strings.HasPrefix(strings.TrimPrefix(s.ID, "sha256:"), strings.TrimPrefix(ref, "sha256:")) {
		return true
	}
	if _, tag := images.SplitTag(ref); tag == "<none>" {
		ref += ":latest"
	}
	return slices.Contains(s.RepoTags, ref)
}

// parseTime reads docker's time filters: a Go duration before now, a
// Unix timestamp, or an RFC 3339 time or date.
func parseTime(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("not a duration, timestamp or date")
	}
	return dockertime.Parse(v, now)
}
