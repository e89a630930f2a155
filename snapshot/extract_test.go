package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

// TestHostileLayers runs every case through both Unpack and Apply and
// checks that nothing outside the target root changed.
func TestHostileLayers(t *testing.T) {
	testutil.RequireRoot(t)
	parent := t.TempDir()
	outside := filepath.Join(parent, "outside")
	hostFile := filepath.Join(outside, "hostfile")
	writeFileT(t, hostFile, "secret")
	outRel := strings.TrimPrefix(outside, "/")

	tests := []struct {
		name    string
		ents    []ent
		wantErr string
		// check inspects the extracted root on success.
		check func(t *testing.T, root string)
	}{
		{name: "dotdot", ents: []ent{file("../x", "x")}, wantErr: `layer entry "../x": path escapes the root`},
		{name: "nested dotdot", ents: []ent{file("a/../../x", "x")}, wantErr: "path escapes the root"},
		{
			name: "absolute name",
			ents: []ent{file("/etc/x", "x")},
			check: func(t *testing.T, root string) {
				wantFile(t, filepath.Join(root, "etc/x"), "x")
			},
		},
		{
			name: "absolute symlink parent",
			ents: []ent{symlink("evil", outside), file("evil/x", "x")},
			check: func(t *testing.T, root string) {
				wantFile(t, filepath.Join(root, outRel, "x"), "x")
			},
		},
		{
			name: "relative symlink escaping",
			ents: []ent{dir("a/", 0o755), symlink("a/evil", "../../.."), file("a/evil/pwned", "p")},
			check: func(t *testing.T, root string) {
				wantFile(t, filepath.Join(root, "pwned"), "p")
			},
		},
		{
			name: "symlink chain to outside",
			ents: []ent{symlink("l1", "l2"), symlink("l2", "../../../.."+outside), file("l1/hostfile", "pwned")},
			check: func(t *testing.T, root string) {
				wantFile(t, filepath.Join(root, outRel, "hostfile"), "pwned")
			},
		},
		{
			name: "file replaces symlink to host file",
			ents: []ent{symlink("f", hostFile), file("f", "pwned")},
			check: func(t *testing.T, root string) {
				wantFile(t, filepath.Join(root, "f"), "pwned")
			},
		},
		{name: "hardlink dotdot", ents: []ent{hardlink("l", "../../outside/hostfile")}, wantErr: "escapes the root"},
		{name: "hardlink host path", ents: []ent{hardlink("l", hostFile)}, wantErr: "does not exist"},
		{
			name:    "hardlink through symlink",
			ents:    []ent{symlink("evil", "/"), hardlink("l", "evil"+hostFile)},
			wantErr: "does not exist",
		},
		{
			name: "hardlink inside",
			ents: []ent{file("a", "a"), hardlink("b", "/a")},
			check: func(t *testing.T, root string) {
				var sa, sb unix.Stat_t
				if unix.Lstat(filepath.Join(root, "a"), &sa) != nil || unix.Lstat(filepath.Join(root, "b"), &sb) != nil || sa.Ino != sb.Ino {
					t.Error("b is not a hardlink of a")
				}
			},
		},
		{name: "whiteout dot", ents: []ent{file(".wh..", "")}, wantErr: "invalid whiteout"},
		{name: "whiteout empty", ents: []ent{file("d/.wh.", "")}, wantErr: "invalid whiteout"},
		{
			name: "whiteout through symlink",
			ents: []ent{symlink("evil", outside), file("evil/.wh.hostfile", "")},
		},
		{
			name: "legit absolute symlink",
			ents: []ent{dir("var/", 0o755), symlink("var/run", "/run"), dir("run/", 0o755)},
			check: func(t *testing.T, root string) {
				if l, err := os.Readlink(filepath.Join(root, "var/run")); err != nil || l != "/run" {
					t.Errorf("var/run -> %q, %v", l, err)
				}
			},
		},
		{
			name: "trusted xattr ignored",
			ents: []ent{
				{name: "d/", typ: tar.TypeDir, mode: 0o755, pax: map[string]string{
					"SCHILY.xattr.trusted.overlay.opaque":   "y",
					"SCHILY.xattr.trusted.overlay.redirect": "/etc",
					"SCHILY.xattr.user.ok":                  "1",
				}},
				{name: "capfile", typ: tar.TypeReg, mode: 0o755, pax: map[string]string{
					"SCHILY.xattr.security.capability":    testCap,
					"SCHILY.xattr.trusted.overlay.opaque": "y",
				}},
			},
			check: func(t *testing.T, root string) {
				names, err := listXattrs(filepath.Join(root, "d"))
				if diff := cmp.Diff([]string{"user.ok"}, names); diff != "" || err != nil {
					t.Errorf("xattrs (-want +got):\n%s%v", diff, err)
				}
				v, err := getXattr(filepath.Join(root, "capfile"), "security.capability")
				if string(v) != testCap || err != nil {
					t.Errorf("security.capability = %q, %v", v, err)
				}
				if isOpaque(filepath.Join(root, "capfile")) {
					t.Error("capfile carries trusted.overlay.opaque")
				}
			},
		},
		{
			name: "devices skipped",
			ents: []ent{{name: "dev/sda", typ: tar.TypeBlock, mode: 0o666, major: 8}, file("after", "ok")},
			check: func(t *testing.T, root string) {
				if _, err := os.Lstat(filepath.Join(root, "dev/sda")); !os.IsNotExist(err) {
					t.Errorf("device node created: %v", err)
				}
				wantFile(t, filepath.Join(root, "after"), "ok")
			},
		},
		{name: "parent is a file", ents: []ent{file("f", ""), file("f/x", "")}, wantErr: "not a directory"},
	}

	for _, tc := range tests {
		layer := buildTar(t, tc.ents...)
		for _, how := range []string{"unpack", "apply"} {
			t.Run(tc.name+"/"+how, func(t *testing.T) {
				base := filepath.Join(parent, "work")
				if err := os.RemoveAll(base); err != nil {
					t.Fatal(err)
				}
				before := listingExcept(t, parent, base)
				var root string
				var err error
				if how == "unpack" {
					var s *Snapshotter
					if s, err = New(base); err != nil {
						t.Fatal(err)
					}
					d := digest(layer)
					err = s.Unpack(context.Background(), d, bytes.NewReader(layer))
					root = s.Path(d)
					if err != nil && s.Has(d) {
						t.Error("failed Unpack committed a snapshot")
					}
				} else {
					root = filepath.Join(base, "root")
					if err := os.MkdirAll(root, 0o755); err != nil {
						t.Fatal(err)
					}
					err = Apply(context.Background(), root, bytes.NewReader(layer))
				}
				if diff := cmp.Diff(before, listingExcept(t, parent, base)); diff != "" {
					t.Errorf("files outside the root changed (-before +after):\n%s", diff)
				}
				if b, _ := os.ReadFile(hostFile); string(b) != "secret" {
					t.Errorf("host file content = %q", b)
				}
				switch {
				case tc.wantErr != "":
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("error = %v, want %q", err, tc.wantErr)
					}
				case err != nil:
					t.Fatalf("unexpected error: %v", err)
				case tc.check != nil:
					tc.check(t, root)
				}
			})
		}
	}
}

// testCap is a VFS_CAP_REVISION_2 value granting cap_net_bind_service.
const testCap = "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

func wantFile(t *testing.T, p, body string) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		t.Errorf("%s: not a regular file (%v)", p, err)
		return
	}
	if b, _ := os.ReadFile(p); string(b) != body {
		t.Errorf("%s = %q, want %q", p, b, body)
	}
}

func TestApplyWhiteouts(t *testing.T) {
	testutil.RequireRoot(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		layers [][]ent
		want   map[string]string
	}{
		{
			name: "whiteout deletes file and dir",
			layers: [][]ent{
				{file("a", "a"), dir("d/", 0o755), file("d/x", "x"), file("keep", "k")},
				{file(".wh.a", ""), file(".wh.d", ""), file(".wh.missing", "")},
			},
			want: map[string]string{"keep": `file 644 uid=0 "k"`},
		},
		{
			name: "opaque before children",
			layers: [][]ent{
				{dir("d/", 0o755), file("d/old", "o"), dir("d/sub/", 0o755), file("d/sub/old", "o")},
				{dir("d/", 0o750), file("d/.wh..wh..opq", ""), dir("d/sub/", 0o755), file("d/sub/new", "n")},
			},
			want: map[string]string{
				"d": "dir 750 uid=0", "d/sub": "dir 755 uid=0", "d/sub/new": `file 644 uid=0 "n"`,
			},
		},
		{
			name: "opaque after children keeps this layer's entries",
			layers: [][]ent{
				{dir("d/", 0o755), file("d/old", "o"), dir("d/sub/", 0o755), file("d/sub/old", "o")},
				{dir("d/", 0o755), file("d/new", "n"), file("d/sub/new", "n"), file("d/.wh..wh..opq", "")},
			},
			want: map[string]string{
				"d": "dir 755 uid=0", "d/new": `file 644 uid=0 "n"`,
				"d/sub": "dir 755 uid=0", "d/sub/new": `file 644 uid=0 "n"`,
			},
		},
		{
			name: "later entry replaces earlier",
			layers: [][]ent{
				{dir("x/", 0o755), file("x/y", "y"), file("f", "1")},
				{file("x", "now a file"), dir("f/", 0o700), {name: "s", typ: tar.TypeReg, body: "s", mode: 0o6755, uid: 7}},
			},
			want: map[string]string{
				"x": `file 644 uid=0 "now a file"`, "f": "dir 700 uid=0", "s": `file 6755 uid=7 "s"`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, l := range tc.layers {
				if err := Apply(ctx, root, bytes.NewReader(buildTar(t, l...))); err != nil {
					t.Fatalf("Apply: %v", err)
				}
			}
			if diff := cmp.Diff(tc.want, tree(t, root)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	root := t.TempDir()
	err := Apply(ctx, root, bytes.NewReader(buildTar(t, file("a", "a"))))
	if err == nil {
		t.Fatal("Apply ignored a cancelled context")
	}
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Errorf("entries extracted after cancel: %v", ents)
	}
}
