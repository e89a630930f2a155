package exporter

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/internal/testutil"
)

// TestDockerLoadAndRun proves interop end to end: a WriteDocker archive is
// loaded by a real docker engine and the container it describes runs.
func TestDockerLoadAndRun(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping docker interop test in short mode")
	}
	busybox := testutil.Busybox(t)
	dockerd := testutil.DockerTools(t)
	host := testutil.DockerEngine(t, dockerd)

	bb, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	layer := layerFromEntries(t, []tarEntry{
		{name: "bin/", typeflag: tar.TypeDir, mode: 0o755},
		{name: "bin/busybox", typeflag: tar.TypeReg, mode: 0o755, data: bb},
		{name: "bin/sh", typeflag: tar.TypeSymlink, linkname: "busybox"},
	})
	img := buildImage(t, []string{"/bin/sh", "-c", "echo hello-from-lade"}, layer)
	// The engine refuses images for another architecture than its own.
	img = testutil.EditConfig(t, img, func(cf *v1.ConfigFile) { cf.Architecture = runtime.GOARCH })

	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	ref := "lade-exporter-test:" + hex.EncodeToString(suffix)
	path := filepath.Join(t.TempDir(), "image.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteDocker(context.Background(), f, img, []string{ref}); err != nil {
		f.Close()
		t.Fatalf("WriteDocker: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	out := testutil.DockerLoadRun(t, host, path, ref)
	if got := strings.TrimSpace(out); got != "hello-from-lade" {
		t.Errorf("container printed %q, want %q", got, "hello-from-lade")
	}
}
