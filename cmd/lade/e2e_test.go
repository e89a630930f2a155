package main

import (
	"context"
	"fmt"

	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lade-build/lade/internal/testutil"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestBuildFailureNamesTheLine(t *testing.T) {
	root := newRoot(t)
	tests := []struct {
		name, dockerfile string
		want             []string
	}{
		{"failing RUN", "FROM busybox\nRUN echo visible-output && exit 3\n", []string{
			"Dockerfile:2", "RUN failed", `did not complete successfully: exit code: 3`, "visible-output"}},
		{"missing COPY source", "FROM busybox\n\nCOPY nope.txt /x\n", []string{"Dockerfile:3", "COPY failed", "nope.txt"}},
		{"unknown instruction", "FROM busybox\nBOGUS x\n", []string{"Dockerfile:2", "unknown instruction"}},
		{"unknown stage in COPY --from is an image", "FROM busybox\nCOPY --from=no-such-stage-or-image /x /y\n", []string{"Dockerfile:2", "no-such-stage-or-image"}},
		{"unknown target", "FROM busybox AS a\n", []string{"target stage \"zzz\" could not be found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"Dockerfile": tt.dockerfile})
			args := []string{"build", "--output", "type=oci,dest=" + filepath.Join(t.TempDir(), "x.tar")}
			if tt.name == "unknown target" {
				args = append(args, "--target", "zzz")
			}
			r := lade(t, root, "", append(args, dir)...)
			if r.code == 0 {
				t.Fatalf("build succeeded, want failure")
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

// Two cold builds on two empty roots give the same manifest digest when
// SOURCE_DATE_EPOCH pins the clock.
func TestBuildIsReproducible(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	files := map[string]string{
		"Dockerfile": "FROM busybox\nCOPY a.txt /a.txt\nRUN echo built > /b.txt && mkdir -p /d && touch /d/e\nWORKDIR /w\nCMD [\"cat\", \"/a.txt\"]\n",
		"a.txt":      "a\n",
	}
	var digests []string
	for i := 0; i < 2; i++ {
		root := newRoot(t)
		im := buildOCI(t, root, writeTree(t, files))
		digests = append(digests, im.ManifestDesc["digest"].(string))
		if got := im.Config["created"]; got != "2023-11-14T22:13:20Z" {
			t.Errorf("created = %v, want the SOURCE_DATE_EPOCH time", got)
		}
		for _, h := range im.History {
			if h["comment"] == "buildkit.dockerfile.v0" && h["created"] != "2023-11-14T22:13:20Z" {
				t.Errorf("history created = %v", h["created"])
			}
		}
	}
	if digests[0] != digests[1] {
		t.Fatalf("manifest digests differ: %s vs %s", digests[0], digests[1])
	}
}

func TestBuildDockerOutputAndStore(t *testing.T) {
	root := newRoot(t)
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo hi > /hi\nCMD [\"cat\", \"/hi\"]\n"})
	out := filepath.Join(t.TempDir(), "docker.tar")
	iid := filepath.Join(t.TempDir(), "iid")
	r := lade(t, root, "", "build", "-t", "hello:v1", "--iidfile", iid, "--output", "type=docker,dest="+out, "--output", "type=image", dir)
	if r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatalf("reading docker archive: %v", err)
	}
	id, _ := img.ConfigName()
	b, _ := os.ReadFile(iid)
	if string(b) != id.String() {
		t.Errorf("iidfile = %q, want %q", b, id)
	}
	r = lade(t, root, "", "images")
	if !strings.Contains(r.stdout, "hello") || !strings.Contains(r.stdout, "v1") {
		t.Errorf("images lacks hello:v1:\n%s", r.stdout)
	}
	r = lade(t, root, "", "run", "--rm", "hello:v1")
	if r.code != 0 || r.stdout != "hi\n" {
		t.Errorf("run = %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = lade(t, root, "", "run", "--rm", "hello:v1", "sh", "-c", "exit 7")
	if r.code != 7 {
		t.Errorf("run exit = %d, want 7", r.code)
	}
	r = lade(t, root, "", "run", "--rm", "hello:v1", "no-such-command")
	if r.code != 127 {
		t.Errorf("run of a missing command = %d, want 127 (%s)", r.code, r.stderr)
	}
}

func TestBuildFromStdinAndOnbuild(t *testing.T) {
	root := newRoot(t)
	ctx := writeTree(t, map[string]string{"f.txt": "f\n"})
	r := lade(t, root, "FROM busybox\nONBUILD COPY f.txt /triggered.txt\n", "build", "-t", "parent", "-f", "-", ctx)
	if r.code != 0 {
		t.Fatalf("parent build: %s", r.stderr)
	}
	im := buildOCI(t, root, writeTree(t, map[string]string{"Dockerfile": "FROM parent\n", "f.txt": "child\n"}))
	if e := im.Tree["/triggered.txt"]; e.Content != "child\n" {
		t.Errorf("ONBUILD trigger did not run in the child: %v", e)
	}
	if ob := im.ImageConfig()["OnBuild"]; ob != nil {
		t.Errorf("OnBuild should be cleared in the child, got %v", ob)
	}
}

func TestImportAndBuild(t *testing.T) {
	testRoot := newRoot(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	data := []byte("imported\n")
	tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "etc/motd", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))})
	tw.Write(data)
	tw.Close()
	zw.Close()
	tarPath := filepath.Join(t.TempDir(), "rootfs.tar.gz")
	os.WriteFile(tarPath, buf.Bytes(), 0o644)
	if r := lade(t, testRoot, "", "import", tarPath, "motd:latest"); r.code != 0 || !strings.HasPrefix(r.stdout, "sha256:") {
		t.Fatalf("import = %d %q %q", r.code, r.stdout, r.stderr)
	}
	im := buildOCI(t, testRoot, writeTree(t, map[string]string{"Dockerfile": "FROM motd\nCOPY --from=busybox /bin/busybox /bin/cat\n"}))
	if e := im.Tree["/etc/motd"]; e.Content != "imported\n" {
		t.Errorf("/etc/motd = %v", e)
	}
}

// Like BuildKit, a RUN that changes nothing still adds an (empty) layer,
// while metadata instructions add none and are marked empty_layer.
func TestEmptyStepsKeepTheirLayer(t *testing.T) {
	root := newRoot(t)
	im := buildOCI(t, root, writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN true\nENV A=1\nRUN true\n"}))
	if got := len(im.Layers); got != 3 {
		t.Errorf("layers = %d, want base + 2 RUN layers", got)
	}
	var got []string
	for _, h := range im.History[len(im.History)-3:] {
		got = append(got, fmt.Sprintf("%v %v", h["created_by"], h["empty_layer"] == true))
	}
	want := []string{"RUN /bin/sh -c true # buildkit false", "ENV A=1 true", "RUN /bin/sh -c true # buildkit false"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("history (-want +got):\n%s", d)
	}
}

// BenchmarkLayerExport measures turning a 10,000-file / 100 MB COPY into a
// stored layer (overlay diff, tar, pgzip, both digests: one streaming
// pass) and writing the image as an OCI tar: MB/s of uncompressed layer.
func BenchmarkLayerExport(b *testing.B) {
	testutil.RequireRoot(b)
	buf := make([]byte, 10<<10)
	for i := range buf {
		buf[i] = byte(i * 7 % 253)
	}
	files := map[string]string{"Dockerfile": "FROM busybox\nCOPY . /src\n"}
	for i := 0; i < 10000; i++ {
		files[fmt.Sprintf("d%02d/f%05d", i%100, i)] = string(buf) + fmt.Sprint(i)
	}
	ctx := writeTree(b, files)
	b.SetBytes(100 << 20)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		root := newRoot(b)
		out := filepath.Join(b.TempDir(), "img.tar")
		b.StartTimer()
		var o, e bytes.Buffer
		if code := Run(context.Background(), []string{"--root", root, "build", "--output", "type=oci,dest=" + out, ctx}, strings.NewReader(""), &o, &e); code != 0 {
			b.Fatal(e.String())
		}
	}
}
