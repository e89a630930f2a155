package images

import (
	"context"
	"errors"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Removing a name rewrites the index through a temp file, which a running
// prune takes for a killed writer's leftover: Untag and Delete hold the
// GC lock like every other store write, so they wait for the prune.
func TestIndexRemovalsWaitForPrune(t *testing.T) {
	noUsers := func(v1.Hash) []User { return nil }
	tests := []struct {
		name   string
		remove func(ctx context.Context, s *Store) error
	}{
		{"untag", func(ctx context.Context, s *Store) error { return s.Untag(ctx, "app:1") }},
		{"delete", func(ctx context.Context, s *Store) error {
			_, err := s.Delete(ctx, "app:1", false, noUsers)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, content := newStore(t)
			ctx := context.Background()
			if err := s.Tag(ctx, "app:1", randomImage(t, 1, time.Unix(1, 0))); err != nil {
				t.Fatal(err)
			}
			unlock, err := content.LockGC(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			if err := tt.remove(short, s); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%s during a prune = %v, want it to wait until its deadline", tt.name, err)
			}
			if _, err := s.Get(ctx, "app:1"); err != nil {
				t.Fatalf("name gone while the prune held the lock: %v", err)
			}
			unlock()
			if err := tt.remove(ctx, s); err != nil {
				t.Fatalf("%s after the prune: %v", tt.name, err)
			}
		})
	}
}
