package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/internal/testutil"
)

// tool returns the path of a program from Debian's package pkg, which
// scripts/test.sh installs.
func tool(t *testing.T, prog, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		testutil.Unavailable(t, "%s missing: apt-get install %s", prog, pkg)
	}
	return p
}

// craneTool finds crane on PATH or in the Go bin directory, where
// scripts/test.sh installs the version go.mod pins.
func craneTool(t *testing.T) string {
	return goTool(t, "crane", "github.com/google/go-containerregistry/cmd/crane@v0.22.1")
}

// goTool finds prog on PATH or in the Go bin directory, where
// scripts/test.sh installs it with go install pkg (module@version).
func goTool(t *testing.T, prog, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(prog); err == nil {
		return p
	}
	// go test does not put the go command on PATH; the toolchain that
	// built this test has one.
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	gobin := filepath.Join(os.Getenv("HOME"), "go", "bin")
	if out, err := exec.Command(goCmd, "env", "GOPATH").Output(); err == nil {
		gobin = filepath.Join(strings.TrimSpace(string(out)), "bin")
	}
	p := filepath.Join(gobin, prog)
	if _, err := os.Stat(p); err != nil {
		testutil.Unavailable(t, "%s missing: go install %s", prog, pkg)
	}
	return p
}

// startDistribution runs Debian's docker-registry on a free loopback port
// with its own config and storage, and returns host:port.
func startDistribution(t *testing.T) string {
	t.Helper()
	bin := tool(t, "docker-registry", "docker-registry")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		testutil.Unavailable(t, "cannot start docker-registry: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	up := testutil.PollUntil(20*time.Second, func() bool {
		var resp *http.Response
		if resp, err = http.Get("http://" + addr + "/v2/"); err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if !up {
		b, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
		testutil.Unavailable(t, "docker-registry did not answer on %s: %v\n%s", addr, err, b)
	}
	return addr
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestRegistryInterop pushes lade-built images to a real distribution
// registry and checks them with skopeo and crane; then pulls and runs an
// image that skopeo pushed.
func TestRegistryInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping registry interop test in short mode")
	}
	root := newRoot(t)
	skopeo := tool(t, "skopeo", "skopeo")
	host := startDistribution(t)
	dir := writeTree(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN echo pushed by lade > /msg\nCMD [\"cat\", \"/msg\"]\n",
	})
	ref := host + "/lade/app:v1"
	r := lade(t, root, "", "build", "-t", ref, "--push", dir)
	if r.code != 0 {
		t.Fatalf("build --push: %s", r.stderr)
	}
	if !strings.Contains(r.stderr, "pushed sha256:") || !strings.Contains(r.stderr, "v1: digest: sha256:") {
		t.Errorf("build --push progress:\n%s", r.stderr)
	}
	ins := lade(t, root, "", "inspect", ref)
	var local []images.Inspect
	if err := json.Unmarshal([]byte(ins.stdout), &local); err != nil || len(local) != 1 {
		t.Fatalf("inspect: %v\n%s", err, ins.stdout)
	}
	wantDigest := strings.TrimPrefix(local[0].RepoDigests[0], host+"/lade/app@")

	var si struct{ Digest string }
	out := run(t, skopeo, "inspect", "--tls-verify=false", "docker://"+ref)
	if err := json.Unmarshal([]byte(out), &si); err != nil {
		t.Fatal(err)
	}
	if si.Digest != wantDigest {
		t.Errorf("skopeo sees %s, lade pushed %s", si.Digest, wantDigest)
	}
	ociDir := filepath.Join(t.TempDir(), "oci")
	run(t, skopeo, "copy", "--src-tls-verify=false", "docker://"+ref, "oci:"+ociDir+":v1")

	crane := craneTool(t)
	run(t, crane, "validate", "--remote", ref, "--insecure")

	pushCompressed(t, root, host, dir, skopeo, ociDir)
	pullSkopeoPushed(t, host, skopeo)
}

// pushCompressed pushes dir's image built with buildx's output options,
// with force-compression (so the busybox base layer is recompressed too);
// skopeo copies each image into ociDir and a fresh lade root pulls and
// runs it.
func pushCompressed(t *testing.T, root, host, dir, skopeo, ociDir string) {
	t.Helper()
	for _, c := range []struct{ opts, suffix string }{
		{"compression=zstd,compression-level=9", ".zstd"},
		{"compression=uncompressed", ".tar"},
		{"compression=gzip,compression-level=1", ".tar.gzip"},
	} {
		tag := strings.SplitN(strings.TrimPrefix(c.opts, "compression="), ",", 2)[0]
		cref := host + "/lade/app:" + tag
		if r := lade(t, root, "", "build", "--output", "type=registry,name="+cref+","+c.opts+",force-compression=true", dir); r.code != 0 {
			t.Fatalf("build push %s: %s", c.opts, r.stderr)
		}
		var m v1.Manifest
		if err := json.Unmarshal([]byte(run(t, skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+cref)), &m); err != nil {
			t.Fatal(err)
		}
		for _, l := range m.Layers {
			if !strings.HasSuffix(strings.ReplaceAll(string(l.MediaType), "+", "."), c.suffix) {
				t.Errorf("%s push has layer %s", c.opts, l.MediaType)
			}
		}
		run(t, skopeo, "copy", "--src-tls-verify=false", "docker://"+cref, "oci:"+ociDir+":"+tag)
		pullAndRun(t, cref, "pushed by lade\n", "-q")
	}

}

// pullSkopeoPushed: an image skopeo pushes from a layout this test writes
// is pulled and run by lade (in a fresh root).
func pullSkopeoPushed(t *testing.T, host, skopeo string) {
	t.Helper()
	img := testutil.EditConfig(t, testutil.BusyboxImage(t), func(cf *v1.ConfigFile) {
		cf.Config.Cmd = []string{"echo", "pushed by skopeo"}
	})
	lp, err := layout.Write(filepath.Join(t.TempDir(), "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	sref := host + "/skopeo/img:1"
	run(t, skopeo, "copy", "--dest-tls-verify=false", "oci:"+string(lp), "docker://"+sref)
	if r := pullAndRun(t, sref, "pushed by skopeo\n"); !strings.Contains(r.stderr, "pulling sha256:") {
		t.Errorf("pull progress of %s:\n%s", sref, r.stderr)
	}
}

// pullAndRun pulls ref into a fresh root and runs it, which must print
// want, and returns the pull's result.
func pullAndRun(t *testing.T, ref, want string, pullArgs ...string) result {
	t.Helper()
	fresh := t.TempDir()
	p := lade(t, fresh, "", append(append([]string{"pull"}, pullArgs...), ref)...)
	if p.code != 0 {
		t.Fatalf("pull %s (%d): %s\n%s", ref, p.code, p.stdout, p.stderr)
	}
	if r := lade(t, fresh, "", "run", "--rm", ref); r.code != 0 || r.stdout != want {
		t.Fatalf("run %s (%d): %q %s", ref, r.code, r.stdout, r.stderr)
	}
	return p
}

// TestRegistryMountInterop pushes one image to two repositories of a real
// distribution registry (which keeps blobs per repository) through a
// recording proxy: the second push mounts every blob and sends no bytes.
// Blobs pulled into a fresh root are mounted the same way.
func TestRegistryMountInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping registry interop test in short mode")
	}
	root := newRoot(t)
	backend, err := url.Parse("http://" + startDistribution(t))
	if err != nil {
		t.Fatal(err)
	}
	var bodies, mounts atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(backend)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/uploads/") {
			switch {
			case r.Method == http.MethodPatch, r.Method == http.MethodPut && r.ContentLength != 0:
				bodies.Add(1)
			case r.Method == http.MethodPost && r.URL.Query().Get("mount") != "":
				mounts.Add(1)
			}
		}
		proxy.ServeHTTP(w, r) // keeps Host, so the registry's Locations name the proxy
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo mounted > /m\n"})
	a := host + "/mnt/a:1"
	if r := lade(t, root, "", "build", "-t", a, dir); r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	r := lade(t, root, "", "push", a)
	n := strings.Count(r.stderr, "pushed sha256:")
	if r.code != 0 || n < 3 || bodies.Load() < int32(n) || mounts.Load() != 0 {
		t.Fatalf("push to a: %d bodies, %d mounts: %+v", bodies.Load(), mounts.Load(), r)
	}

	check := func(root, ref string) {
		t.Helper()
		bodies.Store(0)
		mounts.Store(0)
		if r := lade(t, root, "", "tag", a, ref); r.code != 0 {
			t.Fatal(r.stderr)
		}
		r := lade(t, root, "", "push", ref)
		if r.code != 0 || bodies.Load() != 0 || mounts.Load() != int32(n) || strings.Count(r.stderr, "mounted sha256:") != n {
			t.Errorf("push to %s: %d bodies, %d mounts: %+v", ref, bodies.Load(), mounts.Load(), r)
		}
		run(t, craneTool(t), "validate", "--remote", ref, "--insecure")
	}
	check(root, host+"/mnt/b:1")
	fresh := t.TempDir()
	if r := lade(t, fresh, "", "pull", "-q", a); r.code != 0 {
		t.Fatalf("pull: %s", r.stderr)
	}
	check(fresh, host+"/other/c:1")

	// The common case: build on a base pulled from the registry and push to
	// another repository there. The base layers are mounted; only the new
	// layer and the config are sent.
	ddir := writeTree(t, map[string]string{"Dockerfile": "FROM " + a + "\nRUN echo derived > /d\n"})
	bodies.Store(0)
	mounts.Store(0)
	r = lade(t, fresh, "", "build", "-t", host+"/derived/d:1", "--push", ddir)
	if r.code != 0 || mounts.Load() != int32(n-1) || strings.Count(r.stderr, "mounted sha256:") != n-1 || strings.Count(r.stderr, "pushed sha256:") != 2 {
		t.Errorf("build --push on a pulled base: %d bodies, %d mounts: %+v", bodies.Load(), mounts.Load(), r)
	}
	run(t, craneTool(t), "validate", "--remote", host+"/derived/d:1", "--insecure")
}

// TestDockerInterop: lade save of two images loads into a real docker
// and runs; docker save of a docker image loads into lade and runs.
func TestDockerInterop(t *testing.T) {
	host := testutil.Docker(t)
	root := newRoot(t)
	for _, msg := range []string{"one", "two"} {
		dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nCMD [\"echo\", \"image " + msg + "\"]\n"})
		if r := lade(t, root, "", "build", "-t", "lade-save-test:"+msg, dir); r.code != 0 {
			t.Fatalf("build: %s", r.stderr)
		}
	}
	archive := filepath.Join(t.TempDir(), "save.tar")
	if r := lade(t, root, "", "save", "-o", archive, "lade-save-test:one", "lade-save-test:two"); r.code != 0 {
		t.Fatalf("save: %s", r.stderr)
	}
	t.Cleanup(func() {
		testutil.RunDocker(host, time.Minute, "rmi", "-f", "lade-save-test:one", "lade-save-test:two", "lade-docker-back:1")
	})
	if o, err := testutil.RunDocker(host, 2*time.Minute, "load", "-i", archive); err != nil {
		t.Fatalf("docker load: %v\n%s", err, o)
	}
	for _, msg := range []string{"one", "two"} {
		o, err := testutil.RunDocker(host, 2*time.Minute, "run", "--rm", "--network", "none", "lade-save-test:"+msg)
		if err != nil || o != "image "+msg+"\n" {
			t.Errorf("docker run lade-save-test:%s: %q %v", msg, o, err)
		}
	}

	// Back: docker makes a new image on top and saves it (its own format).
	if o, err := testutil.RunDocker(host, time.Minute, "tag", "lade-save-test:two", "lade-docker-back:1"); err != nil {
		t.Fatalf("docker tag: %v %s", err, o)
	}
	back := filepath.Join(t.TempDir(), "docker.tar")
	if o, err := testutil.RunDocker(host, 2*time.Minute, "save", "-o", back, "lade-docker-back:1"); err != nil {
		t.Fatalf("docker save: %v\n%s", err, o)
	}
	fresh := t.TempDir()
	r := lade(t, fresh, "", "load", "-i", back)
	if r.code != 0 || r.stdout != "Loaded image: lade-docker-back:1\n" {
		t.Fatalf("lade load (%d): %q %s", r.code, r.stdout, r.stderr)
	}
	if r := lade(t, fresh, "", "run", "--rm", "lade-docker-back:1"); r.code != 0 || r.stdout != "image two\n" {
		t.Fatalf("run of docker-saved image (%d): %q %s", r.code, r.stdout, r.stderr)
	}
}

// TestDockerRegistryInterop: docker pulls and runs an image lade pushed
// to a real distribution registry, and lade pulls and runs one docker
// pushed there.
func TestDockerRegistryInterop(t *testing.T) {
	docker := testutil.Docker(t)
	root := newRoot(t)
	host := startDistribution(t)
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo via registry > /msg\nCMD [\"cat\", \"/msg\"]\n"})
	ref := host + "/lade/docker:1"
	back := host + "/docker/back:1"
	if r := lade(t, root, "", "build", "-t", ref, "--push", dir); r.code != 0 {
		t.Fatalf("build --push: %s", r.stderr)
	}
	t.Cleanup(func() { testutil.RunDocker(docker, time.Minute, "rmi", "-f", ref, back) })
	if o, err := testutil.RunDocker(docker, 2*time.Minute, "pull", ref); err != nil {
		t.Fatalf("docker pull: %v\n%s", err, o)
	}
	if o, err := testutil.RunDocker(docker, 2*time.Minute, "run", "--rm", "--network", "none", ref); err != nil || o != "via registry\n" {
		t.Fatalf("docker run of the lade-pushed image: %q %v", o, err)
	}
	if o, err := testutil.RunDocker(docker, time.Minute, "tag", ref, back); err != nil {
		t.Fatalf("docker tag: %v %s", err, o)
	}
	if o, err := testutil.RunDocker(docker, 2*time.Minute, "push", back); err != nil {
		t.Fatalf("docker push: %v\n%s", err, o)
	}
	pullAndRun(t, back, "via registry\n")
}

// TestSkopeoReadsSavedArchive: a lade save archive is both a docker
// archive and an OCI layout tar for skopeo, with one image or several.
func TestSkopeoReadsSavedArchive(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping skopeo interop test in short mode")
	}
	root := newRoot(t)
	skopeo := tool(t, "skopeo", "skopeo")
	for _, msg := range []string{"one", "two"} {
		dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nCMD [\"echo\", \"" + msg + "\"]\n"})
		if r := lade(t, root, "", "build", "-t", "skopeo-save:"+msg, dir); r.code != 0 {
			t.Fatalf("build: %s", r.stderr)
		}
	}
	tmp := t.TempDir()
	one, both := filepath.Join(tmp, "one.tar"), filepath.Join(tmp, "both.tar")
	lade(t, root, "", "save", "-o", one, "skopeo-save:one")
	lade(t, root, "", "save", "-o", both, "skopeo-save:one", "skopeo-save:two")
	inspect := func(root, ref string) images.Inspect {
		t.Helper()
		var ins []images.Inspect
		if err := json.Unmarshal([]byte(lade(t, root, "", "inspect", ref).stdout), &ins); err != nil || len(ins) != 1 {
			t.Fatalf("inspect %s: %v", ref, err)
		}
		return ins[0]
	}
	for _, src := range []struct {
		ref, tag string
		same     bool // byte for byte; from a docker archive skopeo rewrites the config as OCI
	}{
		{"docker-archive:" + one, "one", false},
		{"oci-archive:" + one, "one", true},
		{"docker-archive:" + both + ":skopeo-save:two", "two", false},
		{"oci-archive:" + both + ":two", "two", true}, // the ref.name annotation is the tag, as docker writes it
	} {
		out := run(t, skopeo, "inspect", "--config", src.ref)
		var cfg v1.ConfigFile
		if err := json.Unmarshal([]byte(out), &cfg); err != nil || strings.Join(cfg.Config.Cmd, " ") != "echo "+src.tag {
			t.Errorf("skopeo inspect --config %s: %v %s", src.ref, err, out)
		}
		dst := filepath.Join(t.TempDir(), "oci")
		run(t, skopeo, "copy", src.ref, "oci:"+dst+":x")
		lp := filepath.Join(t.TempDir(), "layout.tar")
		run(t, "tar", "-C", dst, "-cf", lp, ".")
		fresh := t.TempDir()
		if r := lade(t, fresh, "", "load", "-i", lp); r.code != 0 {
			t.Fatalf("load of skopeo's copy of %s: %+v", src.ref, r)
		}
		got, want := inspect(fresh, "x"), inspect(root, "skopeo-save:"+src.tag)
		if src.same && got.ID != want.ID {
			t.Errorf("%s: skopeo's copy has ID %s, want %s", src.ref, got.ID, want.ID)
		}
		if strings.Join(got.RootFS.Layers, " ") != strings.Join(want.RootFS.Layers, " ") || strings.Join(got.Config.Cmd, " ") != "echo "+src.tag {
			t.Errorf("%s: skopeo's copy has layers %v cmd %v, want %v", src.ref, got.RootFS.Layers, got.Config.Cmd, want.RootFS.Layers)
		}
	}
}
