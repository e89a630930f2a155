package main

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/internal/testutil"
)

// testRegistry is an in-process registry behind wrap; returns host:port.
func testRegistry(t *testing.T, wrap func(http.Handler) http.Handler) string {
	return testutil.Registry(t, wrap)
}

func TestTagRmiImagesInspectHistory(t *testing.T) {
	root := newRoot(t)
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo hi > /hi\nENV A=b\nCMD [\"cat\", \"/hi\"]\n"})
	if r := lade(t, root, "", "build", "-t", "app:1", dir); r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	for _, args := range [][]string{{"tag", "app:1", "app:2"}, {"tag", "app:1", "example.com/x/app:3"}} {
		if r := lade(t, root, "", args...); r.code != 0 {
			t.Fatalf("%v: %s", args, r.stderr)
		}
	}
	tests := []struct {
		args []string
		want []string // lines, order-insensitive on stdout (REPOSITORY TAG)
	}{
		{[]string{"images", "--filter", "reference=app"}, []string{"app 1", "app 2"}},
		{[]string{"images", "--filter", "reference=app:2"}, []string{"app 2"}},
		{[]string{"images", "--filter", "reference=*/x/*"}, []string{"example.com/x/app 3"}},
		{[]string{"images", "--filter", "dangling=true"}, nil},
	}
	for _, tt := range tests {
		r := lade(t, root, "", tt.args...)
		if r.code != 0 {
			t.Fatalf("%v: %s", tt.args, r.stderr)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
			f := strings.Fields(l)
			got = append(got, f[0]+" "+f[1])
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%v: got %q, want %q", tt.args, got, tt.want)
		}
	}

	r := lade(t, root, "", "inspect", "app:1")
	var ins []images.Inspect
	if err := json.Unmarshal([]byte(r.stdout), &ins); err != nil || len(ins) != 1 {
		t.Fatalf("inspect: %v %s", err, r.stdout)
	}
	i := ins[0]
	if !strings.HasPrefix(i.ID, "sha256:") || len(i.RepoTags) != 3 || len(i.RepoDigests) != 2 || i.Os != "linux" ||
		i.Architecture != "amd64" || len(i.RootFS.Layers) != 2 || i.Config.Cmd[1] != "/hi" || i.Size == 0 {
		t.Errorf("inspect: %+v", i)
	}
	if r := lade(t, root, "", "inspect", "nope"); r.code == 0 || !strings.Contains(r.stderr, "No such object: nope") || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("inspect of missing image: %+v", r)
	}

	r = lade(t, root, "", "history", "app:1")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 5 || !strings.HasPrefix(lines[0], "IMAGE") || !strings.HasPrefix(lines[1], i.ID[7:19]) ||
		!strings.Contains(lines[1], "CMD [\"cat\" \"/hi\"]") || !strings.Contains(lines[3], "RUN /bin/sh -c echo hi > /hi") {
		t.Errorf("history:\n%s%s", r.stdout, r.stderr)
	}
	if r := lade(t, root, "", "history", "-q", "app:1"); strings.Count(r.stdout, "<missing>") != 3 {
		t.Errorf("history -q:\n%s", r.stdout)
	}

	// rmi by name untags; by ID needs -f while several names remain.
	if r := lade(t, root, "", "rmi", "app:2"); r.code != 0 || r.stdout != "Untagged: app:2\n" {
		t.Errorf("rmi app:2: %+v", r)
	}
	id := strings.Fields(lade(t, root, "", "images", "-q", "--filter", "reference=app").stdout)[0]
	if r := lade(t, root, "", "rmi", id); r.code == 0 || !strings.Contains(r.stderr, "must be forced") {
		t.Errorf("rmi by ID without -f: %+v", r)
	}
	r = lade(t, root, "", "rmi", "-f", id, "missing:1")
	if r.code != 1 || !strings.Contains(r.stdout, "Untagged: app:1\n") || !strings.Contains(r.stdout, "Deleted: sha256:"+id) || !strings.Contains(r.stderr, "No such image: missing:1") {
		t.Errorf("rmi -f: %+v", r)
	}
	if r := lade(t, root, "", "images", "-q", "--filter", "reference=app"); r.stdout != "" {
		t.Errorf("images after rmi: %q", r.stdout)
	}
}

// TestPushPullCLI pushes with lade, pushes again (no blob bodies), pulls
// into a fresh root, and checks that faults leave the store clean.
func TestPushPullCLI(t *testing.T) {
	root := newRoot(t)
	host, bodies, fail := faultyRegistry(t)
	ref := host + "/cli/busybox:1"
	if r := lade(t, root, "", "tag", "busybox", ref); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := lade(t, root, "", "push", ref)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "1: digest: sha256:") || strings.Count(r.stderr, "pushed sha256:") != 2 {
		t.Fatalf("push: %+v", r)
	}
	// Again, and to a sibling repository: the registry has every blob.
	bodies.Store(0)
	if r := lade(t, root, "", "push", ref); r.code != 0 || bodies.Load() != 0 {
		t.Errorf("second push sent %d bodies: %+v", bodies.Load(), r)
	}
	lade(t, root, "", "tag", ref, host+"/cli/other:1")
	if r := lade(t, root, "", "push", host+"/cli/other:1"); r.code != 0 || bodies.Load() != 0 || strings.Count(r.stderr, "exists sha256:") != 2 {
		t.Errorf("push to a sibling repository sent %d bodies: %+v", bodies.Load(), r)
	}

	fresh := t.TempDir()
	r = lade(t, fresh, "", "pull", ref)
	if r.code != 0 || !strings.HasSuffix(r.stdout, ref+"\n") || !strings.Contains(r.stdout, "Status: Downloaded newer image") {
		t.Fatalf("pull: %+v", r)
	}
	if r := lade(t, fresh, "", "pull", ref); !strings.Contains(r.stdout, "Image is up to date") {
		t.Errorf("second pull: %+v", r)
	}
	checkLayersUnpacked(t, fresh, ref)

	// 500, then 429, then wrong bytes: lade retries the first two and
	// refuses the third; the root keeps no image and no partial blob.
	broken := t.TempDir()
	fail.Store(1)
	r = lade(t, broken, "", "pull", ref)
	if r.code == 0 || !strings.Contains(r.stderr, "checksum") {
		t.Fatalf("pull of wrong bytes: %+v", r)
	}
	if n := fail.Load(); n < 4 {
		t.Errorf("only %d faulty answers: the transient ones were not retried", n-1)
	}
	if r := lade(t, broken, "", "images", "-q"); r.stdout != "" {
		t.Errorf("failed pull left images: %q", r.stdout)
	}
	filepath.Walk(broken, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.Contains(p, "/content/") && !strings.Contains(p, "/blobs/") {
			t.Errorf("leftover %s", p)
		}
		if err == nil && !fi.IsDir() && strings.Contains(p, "/blobs/") {
			t.Errorf("blob stored by failed pull: %s", p)
		}
		return nil
	})
}

// faultyRegistry is a test registry that counts the blob bodies pushed
// to it and, once fail is set to 1, answers blob GETs with a 500, then a
// 429, then wrong bytes.
func faultyRegistry(t *testing.T) (host string, bodies, fail *atomic.Int32) {
	bodies, fail = new(atomic.Int32), new(atomic.Int32)
	host = testRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/blobs/uploads/") && (r.Method == http.MethodPatch || r.Method == http.MethodPut && r.ContentLength > 0) {
				bodies.Add(1)
			}
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") && fail.Load() > 0 {
				switch fail.Add(1) {
				case 2:
					http.Error(w, "boom", http.StatusInternalServerError)
					return
				case 3:
					http.Error(w, "slow down", http.StatusTooManyRequests)
					return
				default: // serve wrong bytes from then on
					w.Write([]byte("definitely not the blob you asked for"))
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	return host, bodies, fail
}

// checkLayersUnpacked checks that every layer of ref is unpacked under
// root, as docker pull leaves them.
func checkLayersUnpacked(t *testing.T, root, ref string) {
	t.Helper()
	var insp []struct{ RootFS struct{ Layers []string } }
	if err := json.Unmarshal([]byte(lade(t, root, "", "inspect", ref).stdout), &insp); err != nil || len(insp) != 1 || len(insp[0].RootFS.Layers) == 0 {
		t.Fatalf("inspect after pull: %v %+v", err, insp)
	}
	for _, l := range insp[0].RootFS.Layers {
		if fi, err := os.Stat(filepath.Join(root, "snapshots", "layers", strings.TrimPrefix(l, "sha256:"))); err != nil || !fi.IsDir() {
			t.Errorf("layer %s not unpacked by pull: %v", l, err)
		}
	}
}

func TestLoginLogout(t *testing.T) {
	host := testutil.Registry(t, basicAuth)
	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	cfgPath := filepath.Join(cfgDir, "config.json")
	os.WriteFile(cfgPath, []byte(`{"auths":{"other.example":{"auth":"eDp5"}},"psFormat":"table"}`), 0o600)
	root := t.TempDir()

	if r := lade(t, root, "wrong\n", "login", "-u", "me", "--password-stdin", host); r.code == 0 {
		t.Fatalf("login with a wrong password succeeded: %+v", r)
	}
	if r := lade(t, root, "s3cret\n", "login", "-u", "me", "--password-stdin", host); r.code != 0 || r.stdout != "Login Succeeded\n" {
		t.Fatalf("login: %+v", r)
	}
	var cfg struct {
		Auths    map[string]map[string]string `json:"auths"`
		PsFormat string                       `json:"psFormat"`
	}
	b, _ := os.ReadFile(cfgPath)
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Auths[host]["auth"] != base64.StdEncoding.EncodeToString([]byte("me:s3cret")) || cfg.Auths["other.example"] == nil || cfg.PsFormat != "table" {
		t.Errorf("config after login: %s", b)
	}
	if fi, _ := os.Stat(cfgPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v", fi.Mode())
	}

	// The stored credentials are used: push and pull work.
	seed := newRoot(t)
	ref := host + "/auth/busybox:1"
	lade(t, seed, "", "tag", "busybox", ref)
	if r := lade(t, seed, "", "push", "-q", ref); r.code != 0 {
		t.Fatalf("push with stored credentials: %s", r.stderr)
	}
	if r := lade(t, t.TempDir(), "", "pull", "-q", ref); r.code != 0 {
		t.Fatalf("pull with stored credentials: %s", r.stderr)
	}

	if r := lade(t, root, "", "logout", host); r.code != 0 || !strings.Contains(r.stdout, "Removing login credentials for "+host) {
		t.Errorf("logout: %+v", r)
	}
	b, _ = os.ReadFile(cfgPath)
	if strings.Contains(string(b), host) || !strings.Contains(string(b), "other.example") {
		t.Errorf("config after logout: %s", b)
	}
	if r := lade(t, t.TempDir(), "", "pull", "-q", ref); r.code == 0 {
		t.Error("pull succeeded after logout")
	}
}

// TestSaveLoadCLI: save to stdout and load from stdin keep names and
// digests; an image saved by ID loads without a name; a failed save
// leaves no file.
func TestSaveLoadCLI(t *testing.T) {
	root := newRoot(t)
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nCMD [\"echo\", \"saved\"]\n"})
	if r := lade(t, root, "", "build", "-t", "saved:1", dir); r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	digests := func(root, ref string) string {
		t.Helper()
		var ins []images.Inspect
		r := lade(t, root, "", "inspect", ref)
		if err := json.Unmarshal([]byte(r.stdout), &ins); err != nil || len(ins) != 1 {
			t.Fatalf("inspect %s: %v %+v", ref, err, r)
		}
		return ins[0].ID + " " + strings.Join(ins[0].RepoDigests, ",")
	}
	want := digests(root, "saved:1")

	for _, out := range [][]string{{"save", "saved:1"}, {"save", "-o", "-", "saved:1"}} {
		r := lade(t, root, "", out...)
		if r.code != 0 || len(r.stdout) < 1024 {
			t.Fatalf("%v: %d bytes, %s", out, len(r.stdout), r.stderr)
		}
		fresh := t.TempDir()
		if l := lade(t, fresh, r.stdout, "load"); l.code != 0 || l.stdout != "Loaded image: saved:1\n" {
			t.Fatalf("load from stdin: %+v", l)
		}
		if got := digests(fresh, "saved:1"); got != want {
			t.Errorf("after save/load: %s, want %s", got, want)
		}
		if l := lade(t, t.TempDir(), r.stdout, "load", "-q"); l.code != 0 || l.stdout != "Loaded image: saved:1\n" {
			t.Errorf("load -q: %+v", l)
		}
	}

	// images -q lists manifest digests, while load prints the config
	// digest (inspect's Id).
	id := strings.TrimSpace(lade(t, root, "", "images", "-q", "--filter", "reference=saved").stdout)
	r := lade(t, root, "", "save", id)
	if l := lade(t, t.TempDir(), r.stdout, "load"); l.code != 0 || l.stdout != "Loaded image ID: "+strings.Fields(want)[0]+"\n" {
		t.Errorf("load of an image saved by ID: %+v", l)
	}

	out := filepath.Join(t.TempDir(), "x.tar")
	if r := lade(t, root, "", "save", "-o", out, "saved:1", "missing:1"); r.code == 0 || !strings.Contains(r.stderr, "missing") {
		t.Errorf("save of a missing image: %+v", r)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("failed save left %s: %v", out, err)
	}
	if r := lade(t, root, "", "load", "-i", out); r.code == 0 {
		t.Error("load of a missing file succeeded")
	}
}

// TestPullHostileLayer: a layer with an entry escaping the root fails the
// pull (at unpacking, as docker's does), names the entry, sets no name
// and writes nothing outside the root.
func TestPullHostileLayer(t *testing.T) {
	testutil.RequireRoot(t)
	host := testutil.Registry(t, nil)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "ok", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2},
		{Name: "../../../../../../tmp/lade-pull-escape", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte("x\n"))
	}
	tw.Close()
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/evil/escape:1"
	tag, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	os.Remove("/tmp/lade-pull-escape")
	root := t.TempDir()
	r := lade(t, root, "", "pull", ref)
	if r.code == 0 || !strings.Contains(r.stderr, "lade-pull-escape") {
		t.Fatalf("pull of an escaping layer: %+v", r)
	}
	if _, err := os.Lstat("/tmp/lade-pull-escape"); err == nil {
		t.Error("the layer wrote outside the root")
	}
	if r := lade(t, root, "", "images", "-q"); r.stdout != "" {
		t.Errorf("failed pull left a named image: %q", r.stdout)
	}
}
