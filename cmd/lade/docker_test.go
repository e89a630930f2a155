package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// TestDockerLoadsLadeImage builds an image with lade, exports it with
// type=docker, loads it into a real docker engine and runs its CMD.
func TestDockerLoadsLadeImage(t *testing.T) {
	host := testutil.Docker(t)
	root := newRoot(t)
	dir := writeTree(t, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY msg.txt /msg.txt\nRUN echo \"and $(cat /msg.txt | tr a-z A-Z)\" >> /msg.txt\nCMD [\"cat\", \"/msg.txt\"]\n",
		"msg.txt":    "built by lade\n",
	})
	out := filepath.Join(t.TempDir(), "docker.tar")
	ref := "lade-e2e-docker:" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	if r := lade(t, root, "", "build", "-t", ref, "--output", "type=docker,dest="+out, dir); r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	o := testutil.DockerLoadRun(t, host, out, ref)
	if want := "built by lade\nand BUILT BY LADE\n"; o != want {
		t.Errorf("docker run printed %q, want %q", o, want)
	}
}
