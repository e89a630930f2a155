package testutil

import (
	"os"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BusyboxArm64Path is where scripts/test.sh puts Debian's arm64
// busybox-static (apt-get download busybox-static:arm64).
const BusyboxArm64Path = "/var/cache/lade-test/busybox-arm64"

// BusyboxArm64 is the path of the static arm64 busybox, or the test stops
// (fails under CI).
func BusyboxArm64(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("LADE_TEST_BUSYBOX_ARM64"); p != "" {
		return p
	}
	if _, err := os.Stat(BusyboxArm64Path); err != nil {
		Unavailable(t, "needs an arm64 busybox-static at %s", BusyboxArm64Path)
	}
	return BusyboxArm64Path
}

// BusyboxMulti is a two-platform busybox base: an OCI image index of
// BusyboxImage (linux/amd64) and the same image made from Debian's arm64
// busybox-static (linux/arm64), each manifest carrying its platform.
func BusyboxMulti(t testing.TB) v1.ImageIndex {
	t.Helper()
	arm := BusyboxArm64(t)
	return MultiIndex(t, BusyboxImage(t), busyboxImage(t, arm, "arm64"))
}

// MultiIndex packs imgs in an OCI index, each descriptor carrying the
// platform its config names.
func MultiIndex(t testing.TB, imgs ...v1.Image) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		must(t, err)
		p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}
