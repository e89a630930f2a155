// Package testroot makes lade --root directories for tests: a store
// seeded with busybox:latest, made offline from testutil's image, and a
// content store with its build cache key index (OpenCache). It is
// apart from testutil because it uses the cache and images packages,
// whose own tests use testutil.
package testroot

import (
	"context"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/internal/testutil"
)

// OpenCache opens a content store (dir/content) and a build cache key
// index (dir/keys) under dir, failing t on an error.
func OpenCache(t testing.TB, dir string) (*cache.Store, *cache.Index) {
	t.Helper()
	content, err := cache.Open(filepath.Join(dir, "content"))
	if err != nil {
		t.Fatal(err)
	}
	index, err := cache.OpenIndex(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	return content, index
}

// SeedBusybox tags testutil's busybox image as busybox:latest in the
// stores under root.
func SeedBusybox(t testing.TB, root string) {
	t.Helper()
	store := openStore(t, root)
	if err := store.Tag(context.Background(), "busybox:latest", testutil.BusyboxImage(t)); err != nil {
		t.Fatal(err)
	}
}

func openStore(t testing.TB, root string) *images.Store {
	t.Helper()
	content, err := cache.Open(filepath.Join(root, "content"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := images.Open(filepath.Join(root, "images"), content)
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// SeedBusyboxMulti tags testutil's two-platform busybox index (linux/amd64
// and linux/arm64) as ref in the stores under root and returns it.
func SeedBusyboxMulti(t testing.TB, root, ref string) v1.ImageIndex {
	t.Helper()
	store := openStore(t, root)
	idx := testutil.BusyboxMulti(t)
	if err := store.TagIndex(context.Background(), ref, idx); err != nil {
		t.Fatal(err)
	}
	return idx
}

// Store opens the image store under root, for a test to read back what a
// command stored.
func Store(t testing.TB, root string) *images.Store { return openStore(t, root) }
