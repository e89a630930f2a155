package images

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestDeleteConflicts is docker's rmi table: names, IDs, force and the
// containers using the image.
func TestDeleteConflicts(t *testing.T) {
	stopped := []User{{ID: strings.Repeat("c", 64)}}
	running := []User{{ID: strings.Repeat("r", 64), Running: true}}
	tests := []struct {
		name    string
		names   []string // the image's names
		ref     string   // "ID" for the image ID
		force   bool
		users   []User
		err     string // "" for success
		deleted bool   // the image leaves the store
		left    int    // names left
	}{
		{"last name, unused", []string{"a:1"}, "a:1", false, nil, "", true, 0},
		{"one of two names, used", []string{"a:1", "b:1"}, "a:1", false, stopped, "", false, 1},
		{"last name, used", []string{"a:1"}, "a:1", false, stopped, `unable to remove repository reference "a:1" (must force) - container cccccccccccc is using its referenced image`, false, 1},
		{"last name, used, forced", []string{"a:1"}, "a:1", true, running, "", false, 0},
		{"ID, stopped user", []string{"a:1"}, "ID", false, stopped, "(must be forced) - image is being used by stopped container cccccccccccc", false, 1},
		{"ID, stopped user, forced", []string{"a:1"}, "ID", true, stopped, "", true, 0},
		{"ID, running user, forced", []string{"a:1"}, "ID", true, running, "(cannot be forced) - image is being used by running container rrrrrrrrrrrr", false, 1},
		{"ID, two names", []string{"a:1", "b:1"}, "ID", false, nil, "(must be forced) - image is referenced in multiple repositories", false, 2},
		{"ID, two names, forced", []string{"a:1", "b:1"}, "ID", true, nil, "", true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := newStore(t)
			img := randomImage(t, 1, time.Unix(1, 0))
			for _, n := range tc.names {
				if err := s.Tag(ctx, n, img); err != nil {
					t.Fatal(err)
				}
			}
			id, err := img.ConfigName()
			if err != nil {
				t.Fatal(err)
			}
			ref := tc.ref
			if ref == "ID" {
				ref = id.Hex[:12]
			}
			removed, err := s.Delete(ctx, ref, tc.force, func(got v1.Hash) []User {
				if got != id {
					t.Errorf("users asked for %s, want %s", got, id)
				}
				return tc.users
			})
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("Delete: %v, want %q", err, tc.err)
			}
			if (removed.Deleted == id) != (tc.deleted && err == nil) {
				t.Errorf("Deleted %v, want deleted=%v", removed.Deleted, tc.deleted)
			}
			list, err := s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tc.deleted != (len(list) == 0) {
				t.Fatalf("after Delete the store lists %+v, want deleted=%v", list, tc.deleted)
			}
			if len(list) == 1 && len(list[0].Names) != tc.left {
				t.Errorf("names left %v, want %d", list[0].Names, tc.left)
			}
		})
	}
}
