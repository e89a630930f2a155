// Package testroot makes lade --root directories for tests: a store
// seeded with busybox:latest, made offline from testutil's image. It is
// apart from testutil because it uses the cache and images packages,
// whose own tests use testutil.
package testroot

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/network"
)

// SeedBusybox tags testutil's busybox image as busybox:latest in the
// stores under root. The bridges and nftables table of the root's
// networks, which its containers make, go when the test ends.
func SeedBusybox(t testing.TB, root string) {
	t.Helper()
	t.Cleanup(func() {
		if ns, err := network.Open(filepath.Join(root, "networks")); err == nil {
			if err := ns.Teardown(); err != nil {
				t.Errorf("removing the test's networks: %v", err)
			}
		}
	})
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
