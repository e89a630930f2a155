package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/lade-build/lade/internal/testroot"
	"github.com/lade-build/lade/internal/testutil"
)

// readFiles reads the files of an exported directory as path -> content
// (dirs are not listed).
func readFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out["/"+rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tarFiles lists a plain tar's regular files as path -> content.
func tarFiles(t *testing.T, data []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	testutil.EachTarEntry(t, data, func(hdr *tar.Header, body []byte) {
		if hdr.Typeflag == tar.TypeReg {
			out["/"+strings.TrimPrefix(hdr.Name, "./")] = string(body)
		}
	})
	return out
}

// TestBuildxOutputsAndStdinContexts: -o type=local, -o DIR, type=tar and
// -o - write the final stage's files; stdin carries a Dockerfile (no
// context) or a tar, plain or gzipped, as the context.
func TestBuildxOutputsAndStdinContexts(t *testing.T) {
	root := newRoot(t)
	ctxDir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY f.txt /f.txt\nRUN echo ran > /ran\n", "f.txt": "from tar\n"})
	ctxTar := testutil.TarDir(t, ctxDir)
	tmp := t.TempDir()
	tests := []struct {
		name  string
		stdin string
		args  []string
		read  func() map[string]string // the exported files
		want  map[string]string
	}{
		{"stdin dockerfile, type=local", "FROM busybox\nRUN echo hi > /hi\n",
			[]string{"-o", "type=local,dest=" + tmp + "/a", "-"},
			func() map[string]string { return readFiles(t, tmp+"/a") }, map[string]string{"/hi": "hi\n"}},
		{"stdin tar, -o DIR", string(ctxTar),
			[]string{"-o", tmp + "/b", "-"},
			func() map[string]string { return readFiles(t, tmp+"/b") }, map[string]string{"/f.txt": "from tar\n", "/ran": "ran\n"}},
		{"stdin gzip tar, type=tar", string(testutil.Gzip(t, ctxTar)),
			[]string{"-o", "type=tar,dest=" + tmp + "/c.tar", "-"},
			func() map[string]string {
				b, _ := os.ReadFile(tmp + "/c.tar")
				return tarFiles(t, b)
			}, map[string]string{"/f.txt": "from tar\n", "/ran": "ran\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := lade(t, root, tc.stdin, append([]string{"build"}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("build: %d %s", r.code, r.stderr)
			}
			got := tc.read()
			for p, want := range tc.want {
				if got[p] != want {
					t.Errorf("%s = %q, want %q", p, got[p], want)
				}
			}
			if got["/bin/busybox"] == "" {
				t.Errorf("the base image's files are missing: %d files", len(got))
			}
		})
	}
	// -o - is a tar of the files on stdout.
	r := lade(t, root, "", "build", "-o", "-", ctxDir)
	if r.code != 0 {
		t.Fatalf("build -o -: %s", r.stderr)
	}
	if got := tarFiles(t, []byte(r.stdout))["/ran"]; got != "ran\n" {
		t.Errorf("-o - /ran = %q", got)
	}
}

// TestBuildxMetadataAndAnnotations: --metadata-file holds the stored
// image's manifest and config digests and its name; --annotation lands in
// the manifest.
func TestBuildxMetadataAndAnnotations(t *testing.T) {
	root := newRoot(t)
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo x > /x\n"})
	meta := filepath.Join(t.TempDir(), "meta.json")
	iid := filepath.Join(t.TempDir(), "iid")
	r := lade(t, root, "", "build", "-t", "meta:1", "--iidfile", iid, "--metadata-file", meta,
		"--annotation", "org.example.a=1", "--annotation", "manifest:org.example.b=2", "--load", dir)
	if r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	var m map[string]any
	b, _ := os.ReadFile(meta)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("metadata %q: %v", b, err)
	}
	a := &app{root: root, stderr: io.Discard}
	if err := a.open(); err != nil {
		t.Fatal(err)
	}
	img, err := a.images.Get(context.Background(), "meta:1")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	id, _ := os.ReadFile(iid)
	desc, _ := m["containerimage.descriptor"].(map[string]any)
	for k, want := range map[string]any{
		"containerimage.digest":        d.String(),
		"containerimage.config.digest": string(id),
		"image.name":                   "docker.io/library/meta:1",
	} {
		if m[k] != want {
			t.Errorf("metadata %s = %v, want %v", k, m[k], want)
		}
	}
	if desc["digest"] != d.String() || desc["mediaType"] == nil {
		t.Errorf("containerimage.descriptor = %v", desc)
	}
	mf, _ := img.Manifest()
	if mf.Annotations["org.example.a"] != "1" || mf.Annotations["org.example.b"] != "2" {
		t.Errorf("manifest annotations = %v", mf.Annotations)
	}
}

// TestBuildxNamedContexts: --build-context names a directory (COPY
// --from and FROM), an image (docker-image://) and an OCI layout.
func TestBuildxNamedContexts(t *testing.T) {
	root := newRoot(t)
	src := writeTree(t, map[string]string{"hello": "hello\n"})
	files := writeTree(t, map[string]string{"data.txt": "data\n"})
	lay := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(lay, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(testutil.BusyboxImage(t)); err != nil {
		t.Fatal(err)
	}
	dir := writeTree(t, map[string]string{"Dockerfile": `FROM files AS f
FROM fromlayout AS l
RUN echo layout > /l
FROM base
COPY --from=src hello /hello
COPY --from=f /data.txt /data.txt
COPY --from=l /l /l
RUN cat /hello /data.txt > /both
`})
	out := filepath.Join(t.TempDir(), "out")
	r := lade(t, root, "", "build", "-o", "type=local,dest="+out,
		"--build-context", "base=docker-image://busybox", "--build-context", "src="+src,
		"--build-context", "files="+files, "--build-context", "fromlayout=oci-layout://"+lay, dir)
	if r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	got := readFiles(t, out)
	for p, want := range map[string]string{"/hello": "hello\n", "/data.txt": "data\n", "/both": "hello\ndata\n", "/l": "layout\n"} {
		if got[p] != want {
			t.Errorf("%s = %q, want %q", p, got[p], want)
		}
	}
}

// TestBuildxRunSandboxFlags: --add-host, --ulimit and --shm-size reach
// RUN steps.
func TestBuildxRunSandboxFlags(t *testing.T) {
	root := newRoot(t)
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN cat /etc/hosts > /hosts; ulimit -n > /nofile; grep /dev/shm /proc/mounts > /shm\n"})
	out := filepath.Join(t.TempDir(), "out")
	r := lade(t, root, "", "build", "-o", out, "--add-host", "db.example:10.1.2.3",
		"--ulimit", "nofile=512:1024", "--shm-size", "128m", dir)
	if r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	got := readFiles(t, out)
	if !strings.Contains(got["/hosts"], "10.1.2.3\tdb.example\n") {
		t.Errorf("/etc/hosts = %q", got["/hosts"])
	}
	if got["/nofile"] != "512\n" {
		t.Errorf("ulimit -n = %q, want 512", got["/nofile"])
	}
	if !strings.Contains(got["/shm"], "size=131072k") {
		t.Errorf("/dev/shm mount = %q, want size=131072k", got["/shm"])
	}
}

// TestBuildxTarballURLContext builds from a .tar.gz served on loopback.
func TestBuildxTarballURLContext(t *testing.T) {
	root := newRoot(t)
	ctxDir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY f /f\n", "f": "url\n"})
	body := testutil.Gzip(t, testutil.TarDir(t, ctxDir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(body) }))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out")
	r := lade(t, root, "", "build", "-o", out, srv.URL+"/ctx.tar.gz")
	if r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	if got := readFiles(t, out)["/f"]; got != "url\n" {
		t.Errorf("/f = %q", got)
	}
}

// TestBuildxLegacyFlags: the classic builder's flags are accepted with a
// note, as buildx does.
func TestBuildxLegacyFlags(t *testing.T) {
	root := newRoot(t)
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\n"})
	r := lade(t, root, "", "build", "--rm", "--force-rm", "-m", "1g", "--compress", "--cpu-shares", "2", "--isolation", "default", "-q", dir)
	if r.code != 0 {
		t.Fatalf("build: %d %s", r.code, r.stderr)
	}
	for _, f := range []string{"--memory", "--rm", "--force-rm", "--compress", "--cpu-shares", "--isolation"} {
		if !strings.Contains(r.stderr, "WARNING: "+f+" is ignored") {
			t.Errorf("no note for %s:\n%s", f, r.stderr)
		}
	}
}

// gitServer serves a repository over git's smart HTTP (git http-backend
// as CGI) on loopback; main has sub/f "main", branch dev has sub/f "dev".
// It returns the URL and main's commit.
func gitServer(t *testing.T) (url, mainCommit string) {
	t.Helper()
	git := tool(t, "git", "git")
	work := writeTree(t, map[string]string{"sub/Dockerfile": "FROM busybox\nCOPY f /f\n", "sub/f": "main\n"})
	repos := t.TempDir()
	env := []string{"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t", "HOME=" + repos}
	for _, args := range [][]string{
		{"-C", work, "init", "-q", "-b", "main"}, {"-C", work, "add", "."}, {"-C", work, "commit", "-qm", "main"},
		{"-C", work, "checkout", "-qb", "dev"},
	} {
		gitRun(t, git, env, args...)
	}
	os.WriteFile(filepath.Join(work, "sub/f"), []byte("dev\n"), 0o644)
	gitRun(t, git, env, "-C", work, "commit", "-qam", "dev")
	gitRun(t, git, env, "-C", work, "checkout", "-q", "main")
	gitRun(t, git, env, "clone", "-q", "--bare", work, filepath.Join(repos, "repo.git"))
	out, err := exec.Command(git, "-C", work, "rev-parse", "main").Output()
	if err != nil {
		t.Fatal(err)
	}
	h := &cgi.Handler{Path: git, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + repos, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/repo.git", strings.TrimSpace(string(out))
}

func gitRun(t *testing.T, git string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(git, args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestBuildxGitContext builds from a git URL with #ref:subdir, and its
// default branch with the -f path inside the repository.
func TestBuildxGitContext(t *testing.T) {
	root := newRoot(t)
	url, commit := gitServer(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{url + "#dev:sub"}, "dev\n"},
		{[]string{url + "#:sub"}, "main\n"},
		{[]string{url + "#" + commit + ":sub"}, "main\n"},
		{[]string{"-f", "sub/Dockerfile", url + "#main"}, ""}, // COPY f: no f at the repo's top
	}
	for _, tc := range tests {
		out := filepath.Join(t.TempDir(), "out")
		r := lade(t, root, "", append([]string{"build", "-o", out}, tc.args...)...)
		if tc.want == "" {
			if r.code == 0 || !strings.Contains(r.stderr, `"/f": not found`) {
				t.Errorf("build %v: code %d, want the COPY to miss f: %s", tc.args, r.code, r.stderr)
			}
			continue
		}
		if r.code != 0 {
			t.Fatalf("build %v: %s", tc.args, r.stderr)
		}
		if got := readFiles(t, out)["/f"]; got != tc.want {
			t.Errorf("build %v: /f = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestBuildxPull: a stored base image serves until --pull looks it up in
// its registry again; --load is accepted.
func TestBuildxPull(t *testing.T) {
	root := newRoot(t)
	host := testRegistry(t, nil)
	ref := host + "/lade/base:1"
	push := func(v string) {
		l, err := tarball.LayerFromReader(bytes.NewReader(testutil.TarDir(t, writeTree(t, map[string]string{"v": v}))))
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(testutil.BusyboxImage(t), l)
		if err != nil {
			t.Fatal(err)
		}
		tag, _ := name.NewTag(ref)
		if err := remote.Write(tag, img); err != nil {
			t.Fatal(err)
		}
	}
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM " + ref + "\nRUN cp /v /got\n"})
	build := func(args ...string) string {
		out := filepath.Join(t.TempDir(), "out")
		r := lade(t, root, "", append(append([]string{"build", "-o", out}, args...), dir)...)
		if r.code != 0 {
			t.Fatalf("build %v: %s", args, r.stderr)
		}
		return readFiles(t, out)["/got"]
	}
	push("1")
	if r := lade(t, root, "", "pull", ref); r.code != 0 {
		t.Fatalf("pull: %s", r.stderr)
	}
	push("2")
	if got := build("--load"); got != "1" {
		t.Errorf("without --pull: /got = %q, want the stored 1", got)
	}
	if got := build("--pull"); got != "2" {
		t.Errorf("with --pull: /got = %q, want the registry's 2", got)
	}
}

// TestBuildxMultiPlatformLocal: a multi-platform local export has one
// directory per platform, as buildx's.
func TestBuildxMultiPlatformLocal(t *testing.T) {
	root := newRoot(t)
	testroot.SeedBusyboxMulti(t, root, "busybox:latest")
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY f /f\n", "f": "f\n"})
	out := filepath.Join(t.TempDir(), "out")
	r := lade(t, root, "", "build", "--platform", "linux/amd64,linux/arm64", "-o", "type=local,dest="+out, dir)
	if r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	got := readFiles(t, out)
	for _, p := range []string{"/linux_amd64/f", "/linux_arm64/f"} {
		if got[p] != "f\n" {
			t.Errorf("%s = %q", p, got[p])
		}
	}
	// The index takes index: annotations; the metadata names it.
	ociTar, meta, iid := filepath.Join(out, "..", "oci.tar"), filepath.Join(out, "..", "meta.json"), filepath.Join(out, "..", "iid")
	r = lade(t, root, "", "build", "--platform", "linux/amd64,linux/arm64", "-o", "type=oci,dest="+ociTar,
		"--annotation", "index:org.example.i=1", "--metadata-file", meta, "--iidfile", iid, dir)
	if r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	blobs := map[string][]byte{}
	b, _ := os.ReadFile(ociTar)
	testutil.EachTarEntry(t, b, func(hdr *tar.Header, body []byte) { blobs[hdr.Name] = body })
	var top, idx struct {
		Manifests   []struct{ Digest string }
		Annotations map[string]string
	}
	json.Unmarshal(blobs["index.json"], &top)
	if len(top.Manifests) != 1 {
		t.Fatalf("index.json = %s", blobs["index.json"])
	}
	json.Unmarshal(blobs["blobs/sha256/"+strings.TrimPrefix(top.Manifests[0].Digest, "sha256:")], &idx)
	if idx.Annotations["org.example.i"] != "1" || len(idx.Manifests) != 2 {
		t.Errorf("image index = %+v", idx)
	}
	var m map[string]any
	mb, _ := os.ReadFile(meta)
	json.Unmarshal(mb, &m)
	id, _ := os.ReadFile(iid)
	if m["containerimage.digest"] != top.Manifests[0].Digest || string(id) != top.Manifests[0].Digest {
		t.Errorf("metadata %s, iid %s; want the index %s", mb, id, top.Manifests[0].Digest)
	}
}
