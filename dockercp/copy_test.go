package dockercp

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// hostileRoot makes a container root whose symlinks point at a host
// directory holding a secret, absolutely and through "..".
func hostileRoot(t *testing.T) (root, host string) {
	t.Helper()
	root, host = t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "secret"), []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"abs":       host,
		"dotdot":    "../../../../../../../.." + host,
		"dir/inner": "../../../../../../..",
	} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(name)), 0o755)
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root, host
}

// TestHostileSymlinks: no symlink in the container leads a copy, in or
// out, or a tar extracted into it, to the host's files.
func TestHostileSymlinks(t *testing.T) {
	ctx := context.Background()
	root, host := hostileRoot(t)
	src := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(src, []byte("planted"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctr := func(p string) Endpoint { return Endpoint{Root: root, Path: p, Name: "c"} }
	o := Options{Archive: true} // keep the test's own owner: no root needed
	for _, p := range []string{"/abs/secret", "/dotdot/secret", "/dir/inner" + host + "/secret"} {
		for _, follow := range []bool{false, true} {
			out := filepath.Join(t.TempDir(), "out")
			err := Copy(ctx, ctr(p), Endpoint{Path: out}, Options{FollowLink: follow})
			if data, _ := os.ReadFile(out); strings.Contains(string(data), "secret") {
				t.Errorf("cp %s (follow %v) read the host's secret", p, follow)
			}
			if err == nil || !strings.Contains(err.Error(), "could not find the file") {
				t.Errorf("cp %s (follow %v): %v, want could not find the file", p, follow, err)
			}
			var buf bytes.Buffer
			if err := WriteTar(ctx, ctr(p), Options{FollowLink: follow}, &buf); err == nil || strings.Contains(buf.String(), "host secret") {
				t.Errorf("cp %s - (follow %v) = %v, wrote the secret or no error", p, follow, err)
			}
		}
	}
	// Writes land in the container's own copy of the host path.
	os.MkdirAll(filepath.Join(root, host), 0o755)
	for i, p := range []string{"/abs/a", "/dotdot/b", "/dir/inner" + host + "/c", "/abs/"} {
		if err := Copy(ctx, Endpoint{Path: src}, ctr(p), o); err != nil {
			t.Errorf("cp into %s (%d): %v", p, i, err)
		}
	}
	tarball := bytes.NewReader(testutil.TarDir(t, testutil.WriteTree(t, t.TempDir(), map[string]string{"d": "x"})))
	if err := ExtractTar(ctx, tarball, ctr("/dotdot"), o); err != nil {
		t.Errorf("tar into /dotdot: %v", err)
	}
	for _, name := range []string{"a", "b", "c", "payload", "d"} {
		if _, err := os.Stat(filepath.Join(host, name)); err == nil {
			t.Errorf("a copy wrote the host's %s", name)
		}
		if _, err := os.Stat(filepath.Join(root, host, name)); err != nil {
			t.Errorf("%s is not in the container's %s: %v", name, host, err)
		}
	}
}

// TestRules: docker cp's destination rules, host to container.
func TestRules(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "dir/sub"), 0o755)
	os.WriteFile(filepath.Join(src, "dir/sub/f"), []byte("f"), 0o644)
	os.WriteFile(filepath.Join(src, "file"), []byte("file"), 0o644)
	os.Symlink("file", filepath.Join(src, "link"))
	for _, tc := range []struct {
		src, dst string
		want     string // a path that must exist in the root, or the error
	}{
		{"file", "/new", "new"},
		{"file", "/existing", "existing/file"},
		{"file", "/existing/", "existing/file"},
		{"file", "/missing/", "no such directory"},
		{"file", "/missing/x", "no such directory"},
		{"dir", "/newdir", "newdir/sub/f"},
		{"dir", "/newdir3/", "newdir3/sub/f"},
		{"dir", "/existing", "existing/dir/sub/f"},
		{"dir/.", "/existing", "existing/sub/f"},
		{"dir/.", "/newdir2", "newdir2/sub/f"},
		{"dir", "/afile", "cannot copy directory"},
		{"file/", "/x", "not a directory"},
		{"nope", "/x", "no such file or directory"},
		{"file", "/readonly", "container rootfs is marked read-only"},
		{"link", "/keptlink", "keptlink"},
		{"-L link", "/followed", "followed"},
	} {
		t.Run(tc.src+"->"+tc.dst, func(t *testing.T) {
			root := t.TempDir()
			os.Mkdir(filepath.Join(root, "existing"), 0o755)
			os.WriteFile(filepath.Join(root, "afile"), nil, 0o644)
			follow := strings.HasPrefix(tc.src, "-L ")
			err := Copy(ctx, Endpoint{Path: src + "/" + strings.TrimPrefix(tc.src, "-L ")}, // not Join: "/." and "/" matter
				Endpoint{Root: root, Path: tc.dst, ReadOnly: tc.dst == "/readonly"}, Options{Archive: true, FollowLink: follow})
			if strings.Contains(tc.want, " ") {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Copy = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(filepath.Join(root, tc.want))
			if err != nil {
				t.Fatalf("after the copy: %v", err)
			}
			// A symlink is copied as one, unless -L follows it.
			if isLink := fi.Mode()&os.ModeSymlink != 0; isLink != (tc.src == "link") {
				t.Errorf("%s is a symlink: %v", tc.want, isLink)
			}
		})
	}
}

// TestMounts: a copy reaches the container's volumes and binds through
// their sources, as docker cp does, and respects their read-only flag.
func TestMounts(t *testing.T) {
	ctx := context.Background()
	root, vol, ro := t.TempDir(), t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(root, "vol"), 0o755)
	os.Symlink("/vol", filepath.Join(root, "link"))
	os.WriteFile(filepath.Join(vol, "inside"), []byte("in the volume"), 0o644)
	src := filepath.Join(t.TempDir(), "payload")
	os.WriteFile(src, []byte("p"), 0o644)
	mounts := []Mount{{Target: "/vol", Source: vol}, {Target: "/vol/ro", Source: ro, ReadOnly: true}}
	ctr := func(p string, readOnly bool) Endpoint {
		return Endpoint{Root: root, Path: p, Name: "c", Mounts: mounts, ReadOnly: readOnly}
	}
	for _, tc := range []struct {
		dst      string
		readOnly bool
		want     string // the host file written, or the error
	}{
		{"/vol/a", false, filepath.Join(vol, "a")},
		{"/link/b", false, filepath.Join(vol, "b")},
		{"/vol/", true, filepath.Join(vol, "payload")}, // a writable volume of a read-only container
		{"/vol/ro/c", false, "mounted volume is marked read-only"},
		{"/elsewhere", true, "container rootfs is marked read-only"},
	} {
		err := Copy(ctx, Endpoint{Path: src}, ctr(tc.dst, tc.readOnly), Options{Archive: true})
		if !filepath.IsAbs(tc.want) {
			if err == nil || err.Error() != tc.want {
				t.Errorf("cp to %s = %v, want %q", tc.dst, err, tc.want)
			}
			continue
		}
		if _, serr := os.Stat(tc.want); err != nil || serr != nil {
			t.Errorf("cp to %s = %v; %s: %v", tc.dst, err, tc.want, serr)
		}
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := Copy(ctx, ctr("/link/inside", false), Endpoint{Path: out}, Options{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "in the volume" {
		t.Errorf("cp out of the volume read %q", b)
	}
}

// TestSwappedDirectory: a container process that keeps swapping a
// directory for a symlink to the host's files while cp reads the tree
// never gets those files into the copy (the walk goes through the
// directories it opened). The swaps race the copies; a leak shows in
// some of the rounds, none on correct code.
func TestSwappedDirectory(t *testing.T) {
	ctx := context.Background()
	root, host := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(host, "secret"), []byte("host secret"), 0o600)
	sub := filepath.Join(root, "data", "sub")
	os.MkdirAll(sub, 0o755)
	for i := range 50 {
		os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%02d", i)), []byte("x"), 0o644)
	}
	stop := make(chan struct{})
	swapped := make(chan struct{})
	go func() {
		defer close(swapped)
		for i := 0; i < 1_000_000; i++ { // bounded; ends when the copies end
			select {
			case <-stop:
				return
			default:
			}
			os.Rename(sub, sub+".real")
			os.Symlink(host, sub)
			os.Remove(sub)
			os.Rename(sub+".real", sub)
		}
	}()
	defer func() { close(stop); <-swapped }()
	for range 300 {
		var buf bytes.Buffer
		_ = WriteTar(ctx, Endpoint{Root: root, Path: "/data", Name: "c"}, Options{}, &buf)
		if strings.Contains(buf.String(), "host secret") {
			t.Fatal("cp read the host's file through a directory swapped for a symlink")
		}
	}
}
