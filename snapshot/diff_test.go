package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

// fsOp builds part of a hand-made upper or lower dir.
type fsOp func(t *testing.T, root string)

func mkdirOp(rel string, mode uint32) fsOp {
	return func(t *testing.T, root string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, os.FileMode(mode)); err != nil {
			t.Fatal(err)
		}
	}
}

func fileOp(rel, body string) fsOp {
	return func(t *testing.T, root string) { writeFileT(t, filepath.Join(root, rel), body) }
}

func whiteoutOp(rel string) fsOp {
	return func(t *testing.T, root string) {
		if err := unix.Mknod(filepath.Join(root, rel), unix.S_IFCHR, 0); err != nil {
			t.Fatal(err)
		}
	}
}

func xattrOp(rel, name, val string) fsOp {
	return func(t *testing.T, root string) {
		if err := unix.Lsetxattr(filepath.Join(root, rel), name, []byte(val), 0); err != nil {
			t.Fatal(err)
		}
	}
}

func runOps(t *testing.T, root string, ops []fsOp) {
	for _, op := range ops {
		op(t, root)
	}
}

func TestDiffRules(t *testing.T) {
	testutil.RequireRoot(t)
	tests := []struct {
		name  string
		lower []fsOp
		upper []fsOp
		want  []tarEntry
	}{
		{
			name:  "copy-up only dirs omitted",
			lower: []fsOp{mkdirOp("a/b", 0o755), fileOp("a/b/f", "f")},
			upper: []fsOp{mkdirOp("a/b", 0o755)},
		},
		{
			name:  "changed mode dir emitted",
			lower: []fsOp{mkdirOp("a", 0o755)},
			upper: []fsOp{mkdirOp("a", 0o700)},
			want:  []tarEntry{{Name: "a/", Type: tar.TypeDir, Mode: 0o700}},
		},
		{
			name:  "new empty dir emitted",
			upper: []fsOp{mkdirOp("new", 0o755)},
			want:  []tarEntry{{Name: "new/", Type: tar.TypeDir, Mode: 0o755}},
		},
		{
			name:  "dir hidden by a whiteout in a higher lower is new",
			lower: []fsOp{mkdirOp("a/b", 0o755)},
			upper: []fsOp{mkdirOp("a/b", 0o755)},
			want:  []tarEntry{{Name: "a/", Type: tar.TypeDir, Mode: 0o755}, {Name: "a/b/", Type: tar.TypeDir, Mode: 0o755}},
		},
		{
			name:  "whiteouts, opaque and ordering",
			lower: []fsOp{mkdirOp("d", 0o755), fileOp("d/gone", "x"), mkdirOp("o", 0o755), fileOp("o/old", "x")},
			upper: []fsOp{
				mkdirOp("d", 0o755), whiteoutOp("d/gone"), fileOp("d/a", "a"), fileOp("d/z", "z"),
				mkdirOp("o", 0o755), xattrOp("o", opaqueXattr(), "y"), fileOp("o/new", "n"),
				mkdirOp("e", 0o755), xattrOp("e", opaqueXattr(), "y"),
			},
			want: []tarEntry{
				{Name: "d/", Type: tar.TypeDir, Mode: 0o755},
				{Name: "d/a", Type: tar.TypeReg, Mode: 0o644, Body: "a"},
				{Name: "d/.wh.gone", Type: tar.TypeReg},
				{Name: "d/z", Type: tar.TypeReg, Mode: 0o644, Body: "z"},
				{Name: "e/", Type: tar.TypeDir, Mode: 0o755},
				{Name: "e/.wh..wh..opq", Type: tar.TypeReg},
				{Name: "o/", Type: tar.TypeDir, Mode: 0o755},
				{Name: "o/.wh..wh..opq", Type: tar.TypeReg},
				{Name: "o/new", Type: tar.TypeReg, Mode: 0o644, Body: "n"},
			},
		},
		{
			name: "xattrs filtered",
			upper: []fsOp{
				fileOp("f", "f"),
				xattrOp("f", "user.keep", "1"),
				xattrOp("f", "trusted.overlay.origin", "x"),
				xattrOp("f", "trusted.other", "x"),
				xattrOp("f", "security.capability", "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
			},
			want: []tarEntry{{Name: "f", Type: tar.TypeReg, Mode: 0o644, Body: "f", Xattrs: map[string]string{
				"user.keep":           "1",
				"security.capability": "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
			}}},
		},
		{
			name: "special files and modes",
			upper: []fsOp{
				fileOp("suid", "s"),
				func(t *testing.T, root string) {
					p := filepath.Join(root, "suid")
					if err := unix.Lchown(p, 1000, 1000); err != nil {
						t.Fatal(err)
					}
					if err := unix.Chmod(p, 0o4755); err != nil {
						t.Fatal(err)
					}
					if err := os.Symlink("/abs/target", filepath.Join(root, "link")); err != nil {
						t.Fatal(err)
					}
					if err := unix.Mkfifo(filepath.Join(root, "fifo"), 0o600); err != nil {
						t.Fatal(err)
					}
					if err := unix.Mknod(filepath.Join(root, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
						t.Fatal(err)
					}
					if err := os.Chmod(filepath.Join(root, "null"), 0o666); err != nil {
						t.Fatal(err)
					}
				},
			},
			want: []tarEntry{
				{Name: "fifo", Type: tar.TypeFifo, Mode: 0o600},
				{Name: "link", Type: tar.TypeSymlink, Mode: 0o777, Link: "/abs/target"},
				{Name: "null", Type: tar.TypeChar, Mode: 0o666},
				{Name: "suid", Type: tar.TypeReg, Mode: 0o4755, Uid: 1000, Body: "s"},
			},
		},
		{
			name: "hardlinks",
			upper: []fsOp{
				fileOp("b/one", "data"),
				func(t *testing.T, root string) {
					if err := os.Link(filepath.Join(root, "b/one"), filepath.Join(root, "a")); err != nil {
						t.Fatal(err)
					}
					if err := os.Link(filepath.Join(root, "b/one"), filepath.Join(root, "c")); err != nil {
						t.Fatal(err)
					}
				},
			},
			want: []tarEntry{
				{Name: "a", Type: tar.TypeReg, Mode: 0o644, Body: "data"},
				{Name: "b/", Type: tar.TypeDir, Mode: 0o755},
				{Name: "b/one", Type: tar.TypeLink, Mode: 0o644, Link: "a"},
				{Name: "c", Type: tar.TypeLink, Mode: 0o644, Link: "a"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			lower, upper := filepath.Join(base, "lower"), filepath.Join(base, "upper")
			runOps(t, lower, append([]fsOp{mkdirOp(".", 0o755)}, tc.lower...))
			runOps(t, upper, append([]fsOp{mkdirOp(".", 0o755)}, tc.upper...))
			lowers := []string{lower}
			if tc.name == "dir hidden by a whiteout in a higher lower is new" {
				top := filepath.Join(base, "top")
				runOps(t, top, []fsOp{mkdirOp(".", 0o755), whiteoutOp("a")})
				lowers = []string{top, lower}
			}
			var buf bytes.Buffer
			n, err := Diff(context.Background(), upper, lowers, &buf, DiffOptions{})
			if err != nil {
				t.Fatalf("Diff: %v", err)
			}
			got := readTar(t, buf.Bytes())
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			if n != len(tc.want) {
				t.Errorf("Diff returned %d, want %d", n, len(tc.want))
			}
		})
	}
}

func TestDiffEmpty(t *testing.T) {
	var buf bytes.Buffer
	n, err := Diff(context.Background(), t.TempDir(), nil, &buf, DiffOptions{})
	if err != nil || n != 0 {
		t.Fatalf("Diff = %d, %v; want 0, nil", n, err)
	}
	if buf.Len() != 1024 || len(readTar(t, buf.Bytes())) != 0 {
		t.Errorf("empty diff is %d bytes, want a 1024-byte tar end", buf.Len())
	}
}

func TestDiffDeterministicAndClamped(t *testing.T) {
	testutil.RequireRoot(t)
	upper := t.TempDir()
	runOps(t, upper, []fsOp{
		mkdirOp("d", 0o755), fileOp("d/old", "o"), fileOp("d/new", "n"), whiteoutOp("d/gone"),
		xattrOp("d/new", "user.a", "1"), xattrOp("d/new", "user.b", "2"),
	})
	old := time.Date(2001, 1, 1, 0, 0, 0, 500, time.UTC)
	future := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	epoch := time.Date(2010, 6, 1, 12, 0, 0, 0, time.UTC)
	for p, tm := range map[string]time.Time{"d/old": old, "d/new": future, "d": future} {
		if err := os.Chtimes(filepath.Join(upper, p), tm, tm); err != nil {
			t.Fatal(err)
		}
	}
	run := func(opts DiffOptions) []byte {
		var buf bytes.Buffer
		if _, err := Diff(context.Background(), upper, nil, &buf, opts); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if a, b := run(DiffOptions{}), run(DiffOptions{}); !bytes.Equal(a, b) {
		t.Error("two Diffs of the same upper differ")
	}
	a := run(DiffOptions{SourceDateEpoch: &epoch})
	if b := run(DiffOptions{SourceDateEpoch: &epoch}); !bytes.Equal(a, b) {
		t.Error("two clamped Diffs of the same upper differ")
	}
	got := map[string]time.Time{}
	tr := tar.NewReader(bytes.NewReader(a))
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		got[hdr.Name] = hdr.ModTime.UTC()
		if !hdr.AccessTime.IsZero() || !hdr.ChangeTime.IsZero() || hdr.Uname != "" || hdr.Gname != "" {
			t.Errorf("%s: unexpected atime/ctime/uname/gname in %+v", hdr.Name, hdr)
		}
	}
	want := map[string]time.Time{
		"d/":         epoch,
		"d/.wh.gone": time.Unix(0, 0).UTC(),
		"d/new":      epoch,
		"d/old":      old.Truncate(time.Second),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mtimes (-want +got):\n%s", diff)
	}
}
