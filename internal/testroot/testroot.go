// Package testroot makes lade --root directories for tests: a store
// seeded with busybox:latest, made offline from testutil's image. It is
// apart from testutil because it uses the cache and images packages,
// whose own tests use testutil.
package testroot

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/network"
)

// SeedBusybox tags testutil's busybox image as busybox:latest in the
// stores under root. Its networks go when the test ends
// (TeardownNetworks).
func SeedBusybox(t testing.TB, root string) {
	t.Helper()
	TeardownNetworks(t, root)
	content, err := cache.Open(filepath.Join(root, "content"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := images.Open(filepath.Join(root, "images"), content)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Tag(context.Background(), "busybox:latest", testutil.BusyboxImage(t)); err != nil {
		t.Fatal(err)
	}
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
