// Package testroot makes lade --root directories for tests: a store
// seeded with busybox:latest, made offline from testutil's image, and a
// content store with its build cache key index (OpenCache). It is
// apart from testutil because it uses the cache and images packages,
// whose own tests use testutil.
package testroot

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/network"
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
// stores under root. Its networks go when the test ends
// (TeardownNetworks).
func SeedBusybox(t testing.TB, root string) {
	t.Helper()
	TeardownNetworks(t, root)
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

// tornDown holds the roots TeardownNetworks was called for.
var tornDown sync.Map

// TeardownNetworks removes, when the test ends, the bridges and nftables
// table of root's networks, which its containers make. Only the first
// call for a root counts: call it from the test that owns the root, not
// from a subtest of it (its cleanup would take the bridges from under
// the parent's containers).
func TeardownNetworks(t testing.TB, root string) {
	if _, seen := tornDown.LoadOrStore(root, true); seen {
		return
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(root, "networks")); err != nil {
			return
		}
		ns, err := network.Open(filepath.Join(root, "networks"))
		if err == nil {
			err = ns.Teardown()
		}
		if err != nil {
			t.Errorf("removing the test's networks: %v", err)
		}
	})
}

// Store opens the image store under root, for a test to read back what a
// command stored.
func Store(t testing.TB, root string) *images.Store { return openStore(t, root) }
