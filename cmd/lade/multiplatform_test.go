package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/engine"
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

// An index pushes whole (skopeo sees both platforms), and the archive
// skopeo copy --all makes of it loads back as one index under its name.
func TestPushIndexSkopeoLoad(t *testing.T) {
	skopeo := tool(t, "skopeo", "skopeo")
	root := newRoot(t)
	testroot.SeedBusyboxMulti(t, root, "multi:latest")
	ref := testutil.Registry(t, nil) + "/multi:1"
	if r := lade(t, root, "", "tag", "multi", ref); r.code != 0 {
		t.Fatalf("tag: %s", r.stderr)
	}
	if r := lade(t, root, "", "push", ref); r.code != 0 {
		t.Fatalf("push: %s", r.stderr)
	}
	raw := run(t, skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+ref)
	for _, arch := range []string{`"amd64"`, `"arm64"`} {
		if !strings.Contains(raw, arch) {
			t.Errorf("skopeo inspect --raw shows no %s platform:\n%s", arch, raw)
		}
	}
	archive := filepath.Join(t.TempDir(), "multi.tar")
	run(t, skopeo, "copy", "--all", "--src-tls-verify=false", "docker://"+ref, "oci-archive:"+archive+":example.com/multi:2")
	root2 := newRoot(t)
	r := lade(t, root2, "", "load", "-i", archive)
	if r.code != 0 || !strings.Contains(r.stdout, "Loaded image: example.com/multi:2") {
		t.Fatalf("load: code %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// skopeo re-serialises the index: the archive's digest is the one.
	var layout v1.IndexManifest
	if err := json.Unmarshal([]byte(run(t, "tar", "-xOf", archive, "index.json")), &layout); err != nil || len(layout.Manifests) != 1 {
		t.Fatalf("skopeo's index.json: %v %+v", err, layout)
	}
	want := layout.Manifests[0].Digest
	r = lade(t, root2, "", "images", "-q", "--filter", "reference=example.com/multi")
	if got := strings.TrimSpace(r.stdout); r.code != 0 || got == "" || !strings.HasPrefix(want.Hex, got) {
		t.Errorf("images after load: %q (code %d), want one row of the index %s\n%s", r.stdout, r.code, want, r.stderr)
	}
	if !binfmtHas("qemu-aarch64") {
		testutil.Unavailable(t, "needs qemu-aarch64 registered in binfmt_misc: apt-get install qemu-user-static")
	}
	if r := lade(t, root2, "", "run", "--rm", "--platform", "linux/arm64", "example.com/multi:2", "uname", "-m"); strings.TrimSpace(r.stdout) != "aarch64" {
		t.Errorf("run --platform linux/arm64 of the loaded index: %q %s", r.stdout, r.stderr)
	}
	// crane writes the same nesting in a layout directory.
	layoutDir := t.TempDir()
	run(t, craneTool(t), "pull", "--format", "oci", ref, layoutDir)
	craneTar := filepath.Join(t.TempDir(), "crane.tar")
	run(t, "tar", "-C", layoutDir, "-cf", craneTar, ".")
	root4 := newRoot(t)
	if r := lade(t, root4, "", "load", "-i", craneTar); r.code != 0 {
		t.Fatalf("load of crane's layout: %s", r.stderr)
	}
	if r := lade(t, root4, "", "images", "--tree"); !strings.Contains(r.stdout, "└─ linux/arm64") {
		t.Errorf("crane's layout did not load as an index:\n%s%s", r.stdout, r.stderr)
	}
	// Not stored: run pulls that platform only, then runs it.
	root3 := newRoot(t)
	r = lade(t, root3, "", "run", "--rm", "--platform", "linux/arm64", ref, "uname", "-m")
	if strings.TrimSpace(r.stdout) != "aarch64" || !strings.Contains(r.stderr, "Unable to find image") {
		t.Errorf("run --platform linux/arm64 %s (pulled): %q %s", ref, r.stdout, r.stderr)
	}
	r = lade(t, root3, "", "inspect", ref)
	if !strings.Contains(r.stdout, `"Architecture": "arm64"`) {
		t.Errorf("inspect after run --platform linux/arm64 pulled it:\n%s%s", r.stdout, r.stderr)
	}
}

// images lists an index once (--tree with its platforms); inspect
// describes the host's platform, or --platform's, with the entries.
func TestImagesInspectIndex(t *testing.T) {
	root := newRoot(t)
	idx := testroot.SeedBusyboxMulti(t, root, "multi:latest")
	d, _ := idx.Digest()
	r := lade(t, root, "", "images")
	if n := strings.Count(r.stdout, "multi "); r.code != 0 || n != 1 || !strings.Contains(r.stdout, d.Hex[:12]) {
		t.Errorf("images shows multi %d times, want once with ID %s:\n%s%s", n, d.Hex[:12], r.stdout, r.stderr)
	}
	r = lade(t, root, "", "images", "--tree")
	for _, want := range []string{"multi:latest", "├─ linux/amd64", "└─ linux/arm64"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("images --tree lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
	tests := []struct{ platform, arch string }{{"", "amd64"}, {"linux/arm64", "arm64"}}
	for _, tc := range tests {
		args := []string{"inspect", "multi"}
		if tc.platform != "" {
			args = append(args, "--platform", tc.platform)
		}
		r := lade(t, root, "", args...)
		var out []engine.ImageJSON
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
			t.Fatalf("inspect %v: %v\n%s%s", args, err, r.stdout, r.stderr)
		}
		if got := out[0]; got.Architecture != tc.arch || got.ID != d.String() || len(got.Manifests) != 2 {
			t.Errorf("inspect %v: arch %s, ID %s, %d manifests; want %s, %s, 2", args, got.Architecture, got.ID, len(got.Manifests), tc.arch, d)
		}
	}
	if r := lade(t, root, "", "inspect", "--platform", "linux/s390x", "multi"); r.code == 0 {
		t.Errorf("inspect --platform linux/s390x succeeded:\n%s", r.stdout)
	}
	arm := childBlobs(t, idx, "arm64")[0]
	for _, args := range [][]string{{"history", "-q", "--no-trunc", "--platform", "linux/arm64", "multi"}, {"history", "-q", "--no-trunc", arm.String()}} {
		r := lade(t, root, "", args...)
		if r.code != 0 || r.stdout == "" {
			t.Errorf("lade %v: code %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
}

// system prune -a keeps an index one of whose platforms a running
// container uses, and GC keeps that platform's blobs.
func TestSystemPruneKeepsUsedIndex(t *testing.T) {
	root := newRoot(t)
	idx := testroot.SeedBusyboxMulti(t, root, "multi:latest")
	if !binfmtHas("qemu-aarch64") {
		testutil.Unavailable(t, "needs qemu-aarch64 registered in binfmt_misc: apt-get install qemu-user-static")
	}
	r := lade(t, root, "", "run", "-d", "--platform", "linux/arm64", "multi", "sleep", "60")
	if r.code != 0 {
		t.Fatalf("run -d: %s", r.stderr)
	}
	id := strings.TrimSpace(r.stdout)
	t.Cleanup(func() { lade(t, root, "", "rm", "-f", id) })
	if r := lade(t, root, "", "system", "prune", "-a", "-f"); r.code != 0 {
		t.Fatalf("system prune: %s", r.stderr)
	}
	d, _ := idx.Digest()
	if r := lade(t, root, "", "images", "-q"); !strings.Contains(r.stdout, d.Hex[:12]) {
		t.Errorf("system prune -a removed the index a running arm64 container uses:\n%s%s", r.stdout, r.stderr)
	}
	for _, b := range childBlobs(t, idx, "arm64") {
		if _, err := os.Stat(filepath.Join(root, "content", "blobs", b.Algorithm, b.Hex)); err != nil {
			t.Errorf("blob %s of the arm64 image in use: %v", b, err)
		}
	}
}

// lade manifest: a list of the local busybox index's images, annotated,
// pushed, read back by skopeo, removed.
func TestManifestCommands(t *testing.T) {
	skopeo := tool(t, "skopeo", "skopeo")
	root := newRoot(t)
	testroot.SeedBusyboxMulti(t, root, "multi:latest")
	list := testutil.Registry(t, nil) + "/bb:list"
	steps := []struct {
		args []string
		ok   bool
		want string // in stdout
	}{
		{[]string{"manifest", "create", list, "multi"}, true, "Created manifest list"},
		{[]string{"manifest", "create", list, "busybox"}, false, ""},
		{[]string{"manifest", "create", "--amend", list, "busybox"}, true, ""},
		{[]string{"manifest", "annotate", "--os-version", "6.1", list, "busybox"}, true, ""},
		{[]string{"manifest", "inspect", list}, true, `"os.version": "6.1"`},
		{[]string{"manifest", "push", "--purge", list}, true, "sha256:"},
		{[]string{"manifest", "rm", list}, false, ""},
	}
	for _, st := range steps {
		r := lade(t, root, "", st.args...)
		if (r.code == 0) != st.ok || !strings.Contains(r.stdout, st.want) {
			t.Fatalf("lade %v: code %d, want ok=%v and %q in\n%s%s", st.args, r.code, st.ok, st.want, r.stdout, r.stderr)
		}
	}
	raw := run(t, skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+list)
	var im v1.IndexManifest
	if err := json.Unmarshal([]byte(raw), &im); err != nil {
		t.Fatalf("pushed list: %v\n%s", err, raw)
	}
	// The busybox amd64 image is the index's amd64 image: one entry.
	if len(im.Manifests) != 2 {
		t.Errorf("pushed list has %d entries, want 2:\n%s", len(im.Manifests), raw)
	}
}
