package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/internal/testroot"
	"github.com/lade-build/lade/internal/testutil"
)

// childBlobs are the layer blobs of idx's image for arch.
func childBlobs(t *testing.T, idx v1.ImageIndex, arch string) []v1.Hash {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range im.Manifests {
		if m.Platform == nil || m.Platform.Architecture != arch {
			continue
		}
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		mf, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		out := []v1.Hash{m.Digest, mf.Config.Digest}
		for _, l := range mf.Layers {
			out = append(out, l.Digest)
		}
		return out
	}
	t.Fatalf("no %s image in the index", arch)
	return nil
}

// GC keeps every platform's blobs of a stored index, not only the host's.
func TestPruneKeepsIndexChildren(t *testing.T) {
	root := newRoot(t)
	idx := testroot.SeedBusyboxMulti(t, root, "multi:latest")
	if r := lade(t, root, "", "cache", "prune", "-f", "--all"); r.code != 0 {
		t.Fatalf("prune: %s", r.stderr)
	}
	d, _ := idx.Digest()
	for _, b := range append(childBlobs(t, idx, "arm64"), d) {
		if _, err := os.Stat(filepath.Join(root, "content", "blobs", b.Algorithm, b.Hex)); err != nil {
			t.Errorf("blob %s of the index's arm64 image: %v", b, err)
		}
	}
}

// run --platform picks that platform's image from a stored index; the
// arm64 busybox runs through the kernel's binfmt_misc qemu handler.
func TestRunPlatformFromIndex(t *testing.T) {
	root := newRoot(t)
	testroot.SeedBusyboxMulti(t, root, "multi:latest")
	tests := []struct {
		platform, want string
	}{
		{"", "x86_64"},
		{"linux/amd64", "x86_64"},
		{"linux/arm64", "aarch64"},
		{"linux/arm64/v8", "aarch64"},
	}
	for _, tc := range tests {
		if tc.want == "aarch64" && !binfmtHas("qemu-aarch64") {
			testutil.Unavailable(t, "needs qemu-aarch64 registered in binfmt_misc: apt-get install qemu-user-static")
		}
		args := []string{"run", "--rm"}
		if tc.platform != "" {
			args = append(args, "--platform", tc.platform)
		}
		r := lade(t, root, "", append(args, "multi", "uname", "-m")...)
		if r.code != 0 || strings.TrimSpace(r.stdout) != tc.want {
			t.Errorf("run --platform %q: code %d, stdout %q, want %q\n%s", tc.platform, r.code, r.stdout, tc.want, r.stderr)
		}
	}
}

// binfmtHas reports whether binfmt_misc has handler name enabled.
func binfmtHas(name string) bool {
	b, err := os.ReadFile(filepath.Join("/proc/sys/fs/binfmt_misc", name))
	return err == nil && strings.HasPrefix(string(b), "enabled")
}
