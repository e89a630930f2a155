package images

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/lade-build/lade/internal/prunefilter"
)

// TestPrune stores images that differ in name, age, labels and use and
// checks which each prune removes.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_000_000, 0)
	type stored struct {
		ref     string // "" stores it untagged (dangling)
		created time.Time
		labels  map[string]string
	}
	imgs := map[string]stored{
		"dangling-old": {"", now.Add(-48 * time.Hour), nil},
		"dangling-new": {"", now.Add(-time.Minute), map[string]string{"keep": "1"}},
		"tagged":       {"app:1", now.Add(-48 * time.Hour), map[string]string{"stage": "build"}},
		"used":         {"app:used", now.Add(-48 * time.Hour), nil},
	}
	for _, tc := range []struct {
		name    string
		all     bool
		filters []string
		want    []string // what is left
	}{
		{"dangling", false, nil, []string{"tagged", "used"}},
		{"all", true, nil, []string{"used"}},
		{"until", false, []string{"until=24h"}, []string{"dangling-new", "tagged", "used"}},
		{"label", true, []string{"label=stage=build"}, []string{"dangling-old", "dangling-new", "used"}},
		{"not label", true, []string{"label!=keep"}, []string{"dangling-new", "used"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t)
			ids := map[string]string{}
			for key, st := range imgs {
				img := randomImage(t, 1, st.created)
				cf, err := img.ConfigFile()
				if err != nil {
					t.Fatal(err)
				}
				cf.Config.Labels = st.labels
				if img, err = mutate.ConfigFile(img, cf); err != nil {
					t.Fatal(err)
				}
				store := func() error { return s.Store(ctx, img) }
				if st.ref != "" {
					store = func() error { return s.Tag(ctx, st.ref, img) }
				}
				if err := store(); err != nil {
					t.Fatal(err)
				}
				id, _ := img.ConfigName()
				ids[id.String()] = key
			}
			f, err := prunefilter.Parse(tc.filters, now)
			if err != nil {
				t.Fatal(err)
			}
			usedID := ""
			for id, key := range ids {
				if key == "used" {
					usedID = id
				}
			}
			if _, err := s.Prune(ctx, PruneOptions{All: tc.all, InUse: map[string]bool{usedID: true}, Filter: f}); err != nil {
				t.Fatal(err)
			}
			list, err := s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			for _, e := range list {
				left = append(left, ids[e.ID.String()])
			}
			slices.Sort(left)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(left, want) {
				t.Errorf("left %v, want %v", left, want)
			}
		})
	}
}
