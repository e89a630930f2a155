package main

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/lade-build/lade/internal/testroot"
)

// crossDockerfile has the cross-compile pattern: a stage on the build
// platform that reads TARGETARCH, and a stage for the target that runs
// its own RUN (emulated for a foreign target).
const crossDockerfile = `FROM --platform=$BUILDPLATFORM busybox AS cross
ARG TARGETARCH
RUN echo $TARGETARCH > /t && uname -m > /cross-m
FROM busybox
COPY --from=cross /t /cross-m /
RUN uname -m > /m
`

// platformFiles reads files of every image of an index, by platform.
func platformFiles(t *testing.T, idx v1.ImageIndex, files ...string) map[string]map[string]string {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, m := range im.Manifests {
		if m.Platform == nil {
			t.Fatalf("index entry %s has no platform", m.Digest)
		}
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{"config": cf.OS + "/" + cf.Architecture}
		tr := tar.NewReader(mutate.Extract(img))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if strings.TrimPrefix(h.Name, "/") == strings.TrimPrefix(f, "/") {
					b, _ := io.ReadAll(tr)
					got[f] = strings.TrimSpace(string(b))
				}
			}
		}
		out[m.Platform.String()] = got
	}
	return out
}

// ociIndex untars an OCI layout tar and returns the index its index.json
// names.
func ociIndex(t *testing.T, tarPath string) v1.ImageIndex {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("tar", "-xf", tarPath, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("untar %s: %v\n%s", tarPath, err, out)
	}
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := top.IndexManifest()
	if err != nil || len(im.Manifests) != 1 || !im.Manifests[0].MediaType.IsIndex() {
		t.Fatalf("index.json: want one image index entry, got %+v (%v)", im, err)
	}
	idx, err := top.ImageIndex(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// TestBuildMultiPlatform builds the cross pattern for two platforms into
// the store and an OCI tar: an index of both, the arm64 RUN ran as
// aarch64, and the cross stage ran on the build platform once per target
// with that target's TARGETARCH.
func TestBuildMultiPlatform(t *testing.T) {
	root := newRoot(t)
	testroot.SeedBusyboxMulti(t, root, "busybox:latest")
	dir := writeTree(t, map[string]string{"Dockerfile": crossDockerfile})
	ociTar := filepath.Join(t.TempDir(), "x.tar")
	// A comma list and a repeated flag, as buildx takes them.
	r := lade(t, root, "", "build", "--platform", "linux/amd64,linux/arm64", "--platform", "linux/arm64",
		"-t", "multi:1", "-o", "type=image", "-o", "type=oci,dest="+ociTar, dir)
	if r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	for _, want := range []string{"[linux/amd64->arm64 cross 2/2] RUN", "[linux/arm64 stage-1 3/3] RUN uname -m"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("progress lacks %q:\n%s", want, r.stderr)
		}
	}
	want := map[string]map[string]string{
		"linux/amd64": {"config": "linux/amd64", "/m": "x86_64", "/t": "amd64", "/cross-m": "x86_64"},
		"linux/arm64": {"config": "linux/arm64", "/m": "aarch64", "/t": "arm64", "/cross-m": "x86_64"},
	}
	store, err := testroot.Store(t, root).GetIndex(t.Context(), "multi:1")
	if err != nil {
		t.Fatal(err)
	}
	for name, idx := range map[string]v1.ImageIndex{"store": store, "oci": ociIndex(t, ociTar)} {
		got := platformFiles(t, idx, "/m", "/t", "/cross-m")
		if len(got) != 2 {
			t.Errorf("%s: index has %d platforms, want 2", name, len(got))
		}
		for p, files := range want {
			for f, v := range files {
				if got[p][f] != v {
					t.Errorf("%s %s %s = %q, want %q", name, p, f, got[p][f], v)
				}
			}
		}
	}
	skopeo := tool(t, "skopeo", "skopeo")
	raw := run(t, skopeo, "inspect", "--raw", "oci-archive:"+ociTar)
	checkIndexPlatforms(t, raw, "linux/amd64", "linux/arm64")
}

// checkIndexPlatforms checks a raw image index lists exactly want.
func checkIndexPlatforms(t *testing.T, raw string, want ...string) {
	t.Helper()
	var idx v1.IndexManifest
	if err := json.Unmarshal([]byte(raw), &idx); err != nil {
		t.Fatalf("not an index: %v\n%s", err, raw)
	}
	var got []string
	for _, m := range idx.Manifests {
		if m.Platform != nil {
			got = append(got, m.Platform.String())
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("index platforms = %v, want %v\n%s", got, want, raw)
	}
}

// TestBuildMultiPlatformPush pushes the index to a loopback registry;
// skopeo sees both platforms.
func TestBuildMultiPlatformPush(t *testing.T) {
	root := newRoot(t)
	skopeo := tool(t, "skopeo", "skopeo")
	testroot.SeedBusyboxMulti(t, root, "busybox:latest")
	host := testRegistry(t, nil)
	dir := writeTree(t, map[string]string{"Dockerfile": crossDockerfile})
	ref := host + "/lade/x:v1"
	r := lade(t, root, "", "build", "--platform", "linux/amd64,linux/arm64", "-t", ref, "--push", dir)
	if r.code != 0 {
		t.Fatalf("build --push: %s", r.stderr)
	}
	raw := run(t, skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+ref)
	checkIndexPlatforms(t, raw, "linux/amd64", "linux/arm64")
}

// TestBuildPlatformErrors: what a multi-platform build refuses, before
// building anything.
func TestBuildPlatformErrors(t *testing.T) {
	root := newRoot(t)
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\n"})
	out := filepath.Join(t.TempDir(), "d.tar")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--platform", "linux/amd64,linux/arm64", "-o", "type=docker,dest=" + out},
			"docker exporter does not currently support exporting manifest lists"},
		{[]string{"--platform", "windows/amd64"}, "only linux images can be built"},
		{[]string{"--platform", "linux"}, "invalid platform"},
	}
	for _, tc := range tests {
		r := lade(t, root, "", append(append([]string{"build"}, tc.args...), dir)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("build %v: code %d, stderr %q; want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("refused build wrote %s", out)
	}
}

// TestBuildMultiPlatformRemoteCache: --cache-to carries every platform's
// records, so another machine rebuilds both platforms without running a
// step, to the same index.
func TestBuildMultiPlatformRemoteCache(t *testing.T) {
	cacheDir := filepath.Join(t.TempDir(), "cache")
	dir := writeTree(t, map[string]string{"Dockerfile": crossDockerfile})
	var ids []string
	for i, cacheArg := range []string{"--cache-to=type=local,mode=max,dest=" + cacheDir, "--cache-from=type=local,src=" + cacheDir} {
		root := newRoot(t)
		testroot.SeedBusyboxMulti(t, root, "busybox:latest")
		iid := filepath.Join(t.TempDir(), "iid")
		r := lade(t, root, "", "build", "--platform", "linux/amd64,linux/arm64", "--iidfile", iid, cacheArg, dir)
		if r.code != 0 {
			t.Fatalf("build %d: %s", i, r.stderr)
		}
		// Six layer steps: two RUN, COPY and RUN per platform.
		if n, want := strings.Count(r.stderr, "writing layer sha256:"), []int{6, 0}[i]; n != want {
			t.Errorf("build %d wrote %d layers, want %d:\n%s", i, n, want, r.stderr)
		}
		b, err := os.ReadFile(iid)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, string(b))
	}
	if ids[0] != ids[1] || !strings.HasPrefix(ids[0], "sha256:") {
		t.Errorf("index digests %q, want the same from the cache", ids)
	}
}
