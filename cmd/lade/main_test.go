package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/internal/testroot"
	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/runner"
)

func TestMain(m *testing.M) {
	if runner.Reexec() || container.Reexec() {
		return
	}
	if os.Getenv(asLadeEnv) == "1" {
		main() // the test binary as the lade command (see startLade)
		return
	}
	os.Exit(m.Run())
}

// newRoot returns a fresh --root holding busybox:latest, made offline.
func newRoot(t testing.TB) string {
	t.Helper()
	testutil.RequireRoot(t)
	root := t.TempDir()
	testroot.SeedBusybox(t, root)
	return root
}

// writeTree creates files (path -> content; a trailing "/" makes a dir).
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	return testutil.WriteTree(t, t.TempDir(), files)
}

type result struct {
	code           int
	stdout, stderr string
}

func lade(t *testing.T, root string, stdin string, args ...string) result {
	t.Helper()
	// Whatever the root, the bridges its containers make go with the
	// test that first drove it (newRoot's test, for most).
	testroot.TeardownNetworks(t, root)
	var out, errb bytes.Buffer
	code := Run(context.Background(), append([]string{"--root", root}, args...), strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// buildOCI builds ctxDir and reads the OCI tar back.
func buildOCI(t *testing.T, root, ctxDir string, args ...string) *testutil.Image {
	t.Helper()
	out := filepath.Join(t.TempDir(), "img.tar")
	all := append([]string{"build", "--output", "type=oci,dest=" + out}, args...)
	r := lade(t, root, "", append(all, ctxDir)...)
	if r.code != 0 {
		t.Fatalf("lade build failed (%d):\n%s", r.code, r.stderr)
	}
	return testutil.ReadOCITar(t, out)
}
