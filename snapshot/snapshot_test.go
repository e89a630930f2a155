package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

func baseLayer(t *testing.T) []byte {
	return buildTar(t,
		dir("data/", 0o755),
		file("data/keep", "keep"),
		file("data/del", "del"),
		file("data/replace", "old"),
		dir("data/opaque/", 0o755),
		file("data/opaque/a", "a"),
		file("data/opaque/b", "b"),
		dir("data/chmoddir/", 0o755),
		file("data/chmoddir/f", "f"),
		dir("data/untouched/", 0o755),
		dir("data/untouched/sub/", 0o755),
		file("data/untouched/sub/g", "g"),
		dir("var/", 0o755),
		symlink("var/run", "/run"),
	)
}

func mustUnpack(t *testing.T, s *Snapshotter, layer []byte) v1.Hash {
	t.Helper()
	d := digest(layer)
	if err := s.Unpack(context.Background(), d, bytes.NewReader(layer)); err != nil {
		t.Fatalf("Unpack: %v", err)
	}
	return d
}

func mustMount(t *testing.T, s *Snapshotter, parents ...v1.Hash) *Active {
	t.Helper()
	a, err := s.Prepare(context.Background(), parents)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Remove(a); err != nil {
			t.Errorf("Remove: %v", err)
		}
	})
	if err := a.Mount(); err != nil {
		t.Fatalf("Mount: %v", err)
	}
	return a
}

func TestRoundTrip(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	s := newStore(t, filepath.Join(t.TempDir(), "snapshots"))
	base := baseLayer(t)
	d1 := mustUnpack(t, s, base)

	a := mustMount(t, s, d1)
	m := a.Merged
	steps := []func() error{
		func() error { return os.Remove(filepath.Join(m, "data/del")) },
		func() error { return os.WriteFile(filepath.Join(m, "data/replace"), []byte("new"), 0o644) },
		func() error { return os.RemoveAll(filepath.Join(m, "data/opaque")) },
		func() error { return os.Mkdir(filepath.Join(m, "data/opaque"), 0o755) },
		func() error { return os.WriteFile(filepath.Join(m, "data/opaque/d"), []byte("new"), 0o644) },
		func() error { return os.Chmod(filepath.Join(m, "data/chmoddir"), 0o700) },
		func() error { return os.MkdirAll(filepath.Join(m, "data/new"), 0o755) },
		func() error { return os.WriteFile(filepath.Join(m, "data/new/file"), []byte("n"), 0o644) },
		// Copy-up only: a temp file created and removed again.
		func() error { return os.WriteFile(filepath.Join(m, "data/untouched/sub/tmp"), nil, 0o644) },
		func() error { return os.Remove(filepath.Join(m, "data/untouched/sub/tmp")) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if err := a.Unmount(); err != nil {
		t.Fatalf("Unmount: %v", err)
	}
	if _, err := os.Stat(filepath.Join(a.Upper, "data/untouched/sub")); err != nil {
		t.Fatalf("expected data/untouched/sub copied up in the upper dir: %v", err)
	}

	var buf bytes.Buffer
	n, err := Diff(ctx, a.Upper, a.Lowers, &buf, DiffOptions{})
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	diffTar := buf.Bytes()
	want := []tarEntry{
		{Name: "data/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "data/chmoddir/", Type: tar.TypeDir, Mode: 0o700},
		{Name: "data/.wh.del", Type: tar.TypeReg},
		{Name: "data/new/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "data/new/file", Type: tar.TypeReg, Mode: 0o644, Body: "n"},
		{Name: "data/opaque/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "data/opaque/.wh..wh..opq", Type: tar.TypeReg},
		{Name: "data/opaque/d", Type: tar.TypeReg, Mode: 0o644, Body: "new"},
		{Name: "data/replace", Type: tar.TypeReg, Mode: 0o644, Body: "new"},
	}
	got := readTar(t, diffTar)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Diff entries (-want +got):\n%s", diff)
	}
	if n != len(want) {
		t.Errorf("Diff returned %d entries, want %d", n, len(want))
	}

	d2 := digest(diffTar)
	if err := s.Commit(ctx, a, d2); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if !s.Has(d2) {
		t.Fatal("committed snapshot missing")
	}
	if _, err := os.Stat(a.Merged); !os.IsNotExist(err) {
		t.Errorf("Commit left active dirs behind: %v", err)
	}

	wantView := map[string]string{
		"data":                 "dir 755 uid=0",
		"data/keep":            `file 644 uid=0 "keep"`,
		"data/replace":         `file 644 uid=0 "new"`,
		"data/opaque":          "dir 755 uid=0",
		"data/opaque/d":        `file 644 uid=0 "new"`,
		"data/chmoddir":        "dir 700 uid=0",
		"data/chmoddir/f":      `file 644 uid=0 "f"`,
		"data/new":             "dir 755 uid=0",
		"data/new/file":        `file 644 uid=0 "n"`,
		"data/untouched":       "dir 755 uid=0",
		"data/untouched/sub":   "dir 755 uid=0",
		"data/untouched/sub/g": `file 644 uid=0 "g"`,
		"var":                  "dir 755 uid=0",
		"var/run":              "symlink -> /run",
	}
	b := mustMount(t, s, d1, d2)
	if diff := cmp.Diff(wantView, tree(t, b.Merged)); diff != "" {
		t.Errorf("merged view over committed upper (-want +got):\n%s", diff)
	}

	// The diff tar itself must reproduce the same view, both unpacked as a
	// lower dir and applied to a plain directory.
	s2 := newStore(t, filepath.Join(t.TempDir(), "snapshots2"))
	e1, e2 := mustUnpack(t, s2, base), mustUnpack(t, s2, diffTar)
	c := mustMount(t, s2, e1, e2)
	if diff := cmp.Diff(wantView, tree(t, c.Merged)); diff != "" {
		t.Errorf("merged view over unpacked diff (-want +got):\n%s", diff)
	}
	flat := t.TempDir()
	for _, l := range [][]byte{base, diffTar} {
		if err := Apply(ctx, flat, bytes.NewReader(l)); err != nil {
			t.Fatalf("Apply: %v", err)
		}
	}
	if diff := cmp.Diff(wantView, tree(t, flat)); diff != "" {
		t.Errorf("applied view (-want +got):\n%s", diff)
	}
}

func TestUnpackOverlayForm(t *testing.T) {
	testutil.RequireRoot(t)
	s := newStore(t, t.TempDir())
	layer := buildTar(t,
		dir("d/", 0o755),
		file("d/.wh..wh..opq", ""),
		file("d/x", "x"),
		file(".wh.gone", ""),
		ent{name: "suid", typ: tar.TypeReg, body: "s", mode: 0o4755, uid: 1000},
		ent{name: "cap", typ: tar.TypeReg, mode: 0o755, pax: map[string]string{
			"SCHILY.xattr.user.note": "hi",
		}},
		ent{name: "fifo", typ: tar.TypeFifo, mode: 0o600},
	)
	d := mustUnpack(t, s, layer)
	root := s.Path(d)
	want := map[string]string{
		"d":    "dir 755 uid=0",
		"d/x":  `file 644 uid=0 "x"`,
		"gone": "chardev 0",
		"suid": `file 4755 uid=1000 "s"`,
		"cap":  `file 755 uid=0 ""`,
		"fifo": "fifo 600 uid=0",
	}
	if diff := cmp.Diff(want, tree(t, root)); diff != "" {
		t.Errorf("unpacked tree (-want +got):\n%s", diff)
	}
	if !isOpaque(filepath.Join(root, "d")) {
		t.Error("d is not marked opaque")
	}
	if v, err := getXattr(filepath.Join(root, "cap"), "user.note"); err != nil || string(v) != "hi" {
		t.Errorf("user.note xattr = %q, %v", v, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(root, "suid"), &st); err != nil || !testTime.Equal(timeOf(st.Mtim)) {
		t.Errorf("suid mtime = %v, want %v (%v)", timeOf(st.Mtim), testTime, err)
	}
	if err := unix.Lstat(filepath.Join(root, "d"), &st); err != nil || !testTime.Equal(timeOf(st.Mtim)) {
		t.Errorf("dir mtime = %v, want %v (%v)", timeOf(st.Mtim), testTime, err)
	}

	// Idempotent: a second Unpack drains and succeeds.
	if err := s.Unpack(context.Background(), d, bytes.NewReader(layer)); err != nil {
		t.Errorf("second Unpack: %v", err)
	}
}

func TestUnpackDigestMismatch(t *testing.T) {
	testutil.RequireRoot(t)
	s := newStore(t, t.TempDir())
	layer := buildTar(t, file("a", "a"))
	wrong := digest([]byte("something else"))
	err := s.Unpack(context.Background(), wrong, bytes.NewReader(layer))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("digest mismatch")) {
		t.Fatalf("Unpack error = %v, want digest mismatch", err)
	}
	if s.Has(wrong) {
		t.Error("snapshot committed despite digest mismatch")
	}
	// Trailing garbage after the tar end is part of the digest too.
	padded := append(append([]byte{}, layer...), make([]byte, 512)...)
	if err := s.Unpack(context.Background(), digest(layer), bytes.NewReader(padded)); err == nil {
		t.Error("Unpack accepted a stream whose full digest differs")
	}
	for _, d := range []string{"tmp", "layers"} {
		ents, _ := os.ReadDir(filepath.Join(s.root, d))
		if len(ents) != 0 {
			t.Errorf("%s not empty after failed unpacks: %v", d, ents)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Unpack(ctx, digest(layer), bytes.NewReader(layer)); err == nil || s.Has(digest(layer)) {
		t.Errorf("Unpack with cancelled context = %v, committed %v", err, s.Has(digest(layer)))
	}
}

func TestManyParents(t *testing.T) {
	testutil.RequireRoot(t)
	s := newStore(t, filepath.Join(t.TempDir(), "a-rather-long-directory-name-to-stretch-paths", "snapshots"))
	var parents []v1.Hash
	want := map[string]string{}
	total := 0
	for i := range 120 {
		name := "f" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		parents = append(parents, mustUnpack(t, s, buildTar(t, file(name, name))))
		want[name] = `file 644 uid=0 "` + name + `"`
		total += len(s.Path(parents[i])) + 1
	}
	if total < 4096 {
		t.Fatalf("lower paths total %d bytes; test needs more than a page", total)
	}
	a := mustMount(t, s, parents...)
	if diff := cmp.Diff(want, tree(t, a.Merged)); diff != "" {
		t.Errorf("merged view (-want +got):\n%s", diff)
	}
	if err := a.Unmount(); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(a); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(a); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

func TestZeroParents(t *testing.T) {
	testutil.RequireRoot(t)
	s := newStore(t, t.TempDir())
	a := mustMount(t, s)
	writeFileT(t, filepath.Join(a.Merged, "etc/hello"), "hi")
	if err := a.Unmount(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := Diff(context.Background(), a.Upper, a.Lowers, &buf, DiffOptions{}); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, buf.Bytes())
	want := []tarEntry{
		{Name: "etc/", Type: tar.TypeDir, Mode: 0o755},
		{Name: "etc/hello", Type: tar.TypeReg, Mode: 0o644, Body: "hi"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCommitExisting(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	s := newStore(t, t.TempDir())
	layer := buildTar(t, file("a", "from-unpack"))
	d := mustUnpack(t, s, layer)
	a, err := s.Prepare(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeFileT(t, filepath.Join(a.Upper, "a"), "from-upper")
	if err := s.Commit(ctx, a, d); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if diff := cmp.Diff(map[string]string{"a": `file 644 uid=0 "from-unpack"`}, tree(t, s.Path(d))); diff != "" {
		t.Errorf("existing snapshot changed (-want +got):\n%s", diff)
	}
	if err := s.Remove(a); err != nil {
		t.Errorf("Remove after Commit: %v", err)
	}
	// The duplicate upper is deleted in the background; Wait finishes it.
	s.Wait()
	for _, d := range []string{"active", "tmp"} {
		if ents, err := os.ReadDir(filepath.Join(s.root, d)); err != nil || len(ents) != 0 {
			t.Errorf("%s/ after Wait: %v entries (%v), want none", d, len(ents), err)
		}
	}
	if _, err := os.Stat(a.Upper); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("discarded upper still at %s: %v", a.Upper, err)
	}
	if _, err := s.Prepare(ctx, []v1.Hash{digest([]byte("missing"))}); err == nil {
		t.Error("Prepare over a missing parent succeeded")
	}
}

func TestConcurrentUnpack(t *testing.T) {
	testutil.RequireRoot(t)
	s := newStore(t, t.TempDir())
	layer := buildTar(t, dir("x/", 0o755), file("x/y", "y"), file("z", "z"))
	d := digest(layer)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			// A second Snapshotter on the same root acts like another process.
			s2, err := New(s.root)
			if err != nil {
				errs[i] = err
				return
			}
			errs[i] = s2.Unpack(context.Background(), d, bytes.NewReader(layer))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Unpack %d: %v", i, err)
		}
	}
	layers, _ := os.ReadDir(filepath.Join(s.root, "layers"))
	tmps, _ := os.ReadDir(filepath.Join(s.root, "tmp"))
	if len(layers) != 1 || len(tmps) != 0 {
		t.Errorf("layers=%v tmp=%v, want one layer and no temp dirs", layers, tmps)
	}
	want := map[string]string{"x": "dir 755 uid=0", "x/y": `file 644 uid=0 "y"`, "z": `file 644 uid=0 "z"`}
	if diff := cmp.Diff(want, tree(t, s.Path(d))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMountLegacyAndBusyUnmount(t *testing.T) {
	testutil.RequireRoot(t)
	s := newStore(t, t.TempDir())
	d1 := mustUnpack(t, s, buildTar(t, file("a", "1"), file("b", "1")))
	d2 := mustUnpack(t, s, buildTar(t, file("a", "2")))
	a, err := s.Prepare(context.Background(), []v1.Hash{d1, d2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Remove(a)
	// Exercise the mount(2) fallback directly.
	a.mu.Lock()
	err = mountLegacy(a.Merged, Overlay{Lowers: a.mountLowers(), Upper: a.Upper, Work: a.Work})
	a.mounted = err == nil
	a.mu.Unlock()
	if err != nil {
		t.Fatalf("mountLegacy: %v", err)
	}
	want := map[string]string{"a": `file 644 uid=0 "2"`, "b": `file 644 uid=0 "1"`}
	if diff := cmp.Diff(want, tree(t, a.Merged)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// An open file keeps the mount busy; Unmount must detach it.
	f, err := os.Open(filepath.Join(a.Merged, "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := a.Unmount(); err != nil {
		t.Fatalf("Unmount while busy: %v", err)
	}
	if ents, _ := os.ReadDir(a.Merged); len(ents) != 0 {
		t.Errorf("merged still shows %v after Unmount", ents)
	}
}

func TestVolatileMount(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	s := newStore(t, t.TempDir())
	a, err := s.Prepare(ctx, []v1.Hash{mustUnpack(t, s, buildTar(t, file("a", "lower")))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Remove(a)
	a.Volatile = true
	if err := a.Mount(); err != nil {
		t.Fatal(err)
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var opts string
	for _, l := range strings.Split(string(info), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == a.Merged {
			opts = l
		}
	}
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	rel := unix.ByteSliceToString(uts.Release[:])
	var major, minor int
	fmt.Sscanf(rel, "%d.%d", &major, &minor)
	if !strings.Contains(opts, "volatile") && major*100+minor >= 510 {
		t.Errorf("mount of %s lacks volatile (kernel %s): %q", a.Merged, rel, opts)
	}
	writeFileT(t, filepath.Join(a.Merged, "b"), "upper")
	if err := a.Unmount(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(a.Upper, "b")); err != nil || string(b) != "upper" {
		t.Errorf("upper b = %q, %v; want \"upper\"", b, err)
	}
}

// New marks tmp/ (where snapshot dirs are made) for Orlov spreading.
func TestNewSpreadsSnapshotDirs(t *testing.T) {
	root := t.TempDir()
	probe := filepath.Join(root, "probe")
	if err := os.Mkdir(probe, 0o700); err != nil {
		t.Fatal(err)
	}
	// Whether this filesystem keeps the flag at all, set without spreadDirs.
	fd, err := unix.Open(probe, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, getFlags(t, probe)|0x00020000)
	unix.Close(fd)
	if getFlags(t, probe)&0x00020000 == 0 {
		t.Skip("this filesystem does not keep FS_TOPDIR_FL")
	}
	s := newStore(t, filepath.Join(root, "snaps"))
	if getFlags(t, filepath.Join(s.root, "tmp"))&fsTopdirFL == 0 {
		t.Error("snapshots/tmp lacks FS_TOPDIR_FL")
	}
}

func getFlags(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetInt(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Skipf("FS_IOC_GETFLAGS: %v", err)
	}
	return flags
}
