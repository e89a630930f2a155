package hardening

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testroot"
	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/runner"
)

// ladeBin is the lade binary TestMain builds; empty if that failed.
var ladeBin string

func TestMain(m *testing.M) {
	if runner.Reexec() {
		return
	}
	os.Exit(testutil.MainWithLade(m, &ladeBin))
}

// needLade skips unless root, overlayfs and the built binary are there.
func needLade(t *testing.T) {
	t.Helper()
	testutil.RequireRoot(t)
	if ladeBin == "" {
		t.Fatal("lade binary was not built (see TestMain output)")
	}
}

type result struct {
	code           int
	stdout, stderr string
}

// lade runs the binary with --root root; env entries are added.
func lade(t *testing.T, root string, env []string, args ...string) result {
	t.Helper()
	return ladeContext(t, context.Background(), root, env, args...)
}

// ladeContext is lade that ctx can kill; a killed lade has code -1.
func ladeContext(t *testing.T, ctx context.Context, root string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(ctx, ladeBin, append([]string{"--root", root}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running lade: %v", err)
	}
	return result{code, out.String(), errb.String()}
}

// ladeWithin runs lade like lade() but gives up (and fails) after d: a
// hang is what these tests look for.
func ladeWithin(t *testing.T, d time.Duration, root string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	r := ladeContext(t, ctx, root, nil, args...)
	if ctx.Err() != nil {
		t.Fatalf("lade %s hung (killed after %s)\nstderr:\n%s", strings.Join(args, " "), d, r.stderr)
	}
	return r
}

// wantFail checks that r failed with a message containing want.
func wantFail(t *testing.T, r result, want string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("lade succeeded, want an error containing %q\nstderr:\n%s", want, r.stderr)
	}
	if !strings.Contains(r.stderr, "Error: ") || !strings.Contains(r.stderr, want) {
		t.Fatalf("lade failed (%d) without a clear error containing %q:\n%s", r.code, want, r.stderr)
	}
}

// flipMiddleByte corrupts the file at p in place, keeping its size.
func flipMiddleByte(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	// WriteFile keeps an existing file's mode.
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// noSurvivors fails if a process carrying marker in its argv is still
// alive after at most d: the kernel kills a dead init's pid namespace at
// once, but reaping its processes is not instant.
func noSurvivors(t *testing.T, marker string, d time.Duration) {
	t.Helper()
	alive := map[string]string{}
	gone := testutil.PollUntil(d, func() bool {
		clear(alive)
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if strings.Contains(string(b), marker) {
				alive[e.Name()] = string(b)
			}
		}
		return len(alive) == 0
	})
	if !gone {
		for pid, argv := range alive {
			t.Errorf("process %s survived: %q", pid, argv)
		}
	}
}

func wantOK(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("lade failed (%d):\n%s", r.code, r.stderr)
	}
}

var (
	bbOnce  sync.Once
	bbLayer []byte
)

// busyboxLayer is the busybox rootfs as one uncompressed layer tar.
func busyboxLayer(t *testing.T) []byte {
	t.Helper()
	bbOnce.Do(func() { bbLayer = testutil.TarDir(t, testutil.BusyboxRootfs(t)) })
	if bbLayer == nil {
		t.Fatal("no busybox layer")
	}
	return bbLayer
}

// newRoot returns a fresh --root holding busybox:latest, for a test that
// drives the lade binary: it needs what needLade checks.
func newRoot(t *testing.T) string {
	t.Helper()
	needLade(t)
	root := filepath.Join(t.TempDir(), "root")
	seedBusybox(t, root)
	return root
}

func seedBusybox(t *testing.T, root string) { testroot.SeedBusybox(t, root) }

// sentinel makes a host directory outside every root that no case may
// touch; hostile entries aim at it by absolute and relative paths.
func sentinel(t *testing.T) string {
	t.Helper()
	dir := testutil.WriteTree(t, filepath.Join(t.TempDir(), "sentinel"),
		map[string]string{"secret": "host secret\n", "sub/keep": "keep\n", "passwd": "root:x:0:0::/:/bin/sh\n"})
	if err := os.Symlink("secret", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tree is a snapshot of a directory: path -> type, mode, owner, size,
// link target and content hash. Times are left out: reads move atimes.
type tree map[string]string

func snap(t *testing.T, dirs ...string) tree {
	t.Helper()
	out := tree{}
	for _, d := range dirs {
		err := filepath.Walk(d, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			desc := fmt.Sprintf("%v %d", fi.Mode(), fi.Size())
			switch {
			case fi.Mode()&os.ModeSymlink != 0:
				l, _ := os.Readlink(p)
				desc += " -> " + l
			case fi.Mode().IsRegular():
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				s := sha256.Sum256(b)
				desc += " " + hex.EncodeToString(s[:8])
			case fi.IsDir():
				desc = fmt.Sprintf("%v", fi.Mode())
			}
			out[p] = desc
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// sameTree fails the test with the differences between before and after,
// ignoring paths for which allowed returns true.
func sameTree(t *testing.T, before, after tree, allowed func(string) bool) {
	t.Helper()
	var diffs []string
	for p, d := range before {
		if a, ok := after[p]; !ok {
			diffs = append(diffs, "removed "+p)
		} else if a != d && (allowed == nil || !allowed(p)) {
			diffs = append(diffs, fmt.Sprintf("changed %s: %s -> %s", p, d, a))
		}
	}
	for p, a := range after {
		if _, ok := before[p]; !ok && (allowed == nil || !allowed(p)) {
			diffs = append(diffs, "added "+p+" "+a)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("host tree changed:\n%s", strings.Join(diffs, "\n"))
	}
}

// storeDirs are where a failed command may leave verified content: new
// blobs, and parent dirs whose listing they changed.
func storeAllowed(root string) func(string) bool {
	blobs := filepath.Join(root, "content", "blobs")
	skeleton := map[string]bool{root: true}
	for _, d := range []string{"snapshots", "snapshots/active", "snapshots/layers", "snapshots/tmp"} {
		skeleton[filepath.Join(root, d)] = true
	}
	return func(p string) bool {
		return skeleton[p] || strings.HasPrefix(p, blobs)
	}
}

// checkStore asserts the store under root is consistent: every blob
// hashes to its name, the image index parses and names only stored
// manifests, no snapshot is active, no temp file is left and nothing is
// mounted below root.
func checkStore(t *testing.T, root string) {
	t.Helper()
	blobs := filepath.Join(root, "content", "blobs", "sha256")
	ents, _ := os.ReadDir(blobs)
	for _, e := range ents {
		f, err := os.Open(filepath.Join(blobs, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != e.Name() {
			t.Errorf("blob %s has digest %s", e.Name(), got)
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "images", "index.json")); err == nil {
		var idx struct {
			Refs   map[string]string
			Images map[string]json.RawMessage
		}
		if err := json.Unmarshal(b, &idx); err != nil {
			t.Errorf("torn image index: %v", err)
		}
		for ref, d := range idx.Refs {
			hexd := strings.TrimPrefix(d, "sha256:")
			if _, err := os.Stat(filepath.Join(blobs, hexd)); err != nil {
				t.Errorf("%s names %s, which is not stored", ref, d)
			}
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "snapshots", "active")); len(ents) > 0 {
		t.Errorf("active snapshots left: %d", len(ents))
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "content", "ingest")); len(ents) > 0 {
		t.Errorf("ingest files left: %d", len(ents))
	}
	if m := mountsUnder(t, root); len(m) > 0 {
		t.Errorf("mounts left under %s:\n%s", root, strings.Join(m, "\n"))
	}
}

// mountsUnder lists mount points at or below dir in this namespace.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}

// ent is one crafted tar entry. size < 0 keeps len(body).
type ent struct {
	name, link, body string
	typ              byte
	mode             int64
	size             int64
}

func file(name, body string) ent { return ent{name: name, body: body, typ: tar.TypeReg, mode: 0o644} }
func dir(name string) ent        { return ent{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, to string) ent {
	return ent{name: name, link: to, typ: tar.TypeSymlink, mode: 0o777}
}

// layerTar writes ents as a tar exactly as given, names unchecked.
func layerTar(t *testing.T, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		size := int64(len(e.body))
		if e.typ != tar.TypeReg {
			size = 0
		}
		if e.size > 0 {
			size = e.size
		}
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Size: size,
			ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if e.typ == tar.TypeChar || e.typ == tar.TypeBlock {
			h.Devmajor, h.Devminor = 1, 3
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg && e.size == 0 {
			if _, err := io.WriteString(tw, e.body); err != nil {
				t.Fatal(err)
			}
		}
		if e.size > 0 {
			// A header that declares more than follows: stop here, as a
			// truncated stream would.
			return buf.Bytes()
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// archLayer is one layer of a crafted docker archive: its file bytes and
// the diff ID the config claims ("" = sha of data, right for plain tars).
type archLayer struct {
	data   []byte
	diffID string
}

// dockerArchive writes a docker save archive of one image named tag.
func dockerArchive(t *testing.T, tag string, layers ...archLayer) []byte {
	t.Helper()
	return dockerArchiveEdit(t, tag, nil, layers...)
}

// dockerArchiveEdit is dockerArchive with edit applied to the
// manifest.json entry before it is written.
func dockerArchiveEdit(t *testing.T, tag string, edit func(map[string]any), layers ...archLayer) []byte {
	t.Helper()
	var diffIDs, names []string
	files := map[string][]byte{}
	for i, l := range layers {
		d := l.diffID
		if d == "" {
			d = sha(l.data)
		}
		diffIDs = append(diffIDs, d)
		n := fmt.Sprintf("layer%d.tar", i)
		names = append(names, n)
		files[n] = l.data
	}
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Env": []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, "Cmd": []string{"/bin/sh"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	files["config.json"] = cfg
	entry := map[string]any{"Config": "config.json", "RepoTags": []string{tag}, "Layers": names}
	if edit != nil {
		edit(entry)
	}
	man, _ := json.Marshal([]map[string]any{entry})
	files["manifest.json"] = man
	return tarFiles(t, files)
}

func tarFiles(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeFile writes data to a new file in a fresh temp dir.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeTree creates files (path -> content; a trailing "/" makes a dir).
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	return testutil.WriteTree(t, filepath.Join(t.TempDir(), "ctx"), files)
}
