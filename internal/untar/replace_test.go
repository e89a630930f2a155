package untar

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

// TestExtractReplaces covers what the resolved-parent cache and the
// parallel file writers must keep: a later entry replacing an earlier
// one, a directory swapped for a symlink, hardlinks to files still being
// written, and large files written from the stream.
func TestExtractReplaces(t *testing.T) {
	testutil.RequireRoot(t)
	big := strings.Repeat("b", smallFile+1)
	setuid := reg("f", "data")
	setuid.Mode, setuid.Uid = 0o4755, 1
	tests := []struct {
		name  string
		hdrs  []*tar.Header
		check func(t *testing.T, base, root string)
	}{{
		name: "directory swapped for a symlink",
		hdrs: []*tar.Header{{Name: "a", Typeflag: tar.TypeDir}, reg("a/f", "x"),
			{Name: "a", Typeflag: tar.TypeSymlink, Linkname: "../out"}, reg("a/g", "x")},
		check: func(t *testing.T, base, root string) {
			if _, err := os.Lstat(filepath.Join(base, "out", "g")); !os.IsNotExist(err) {
				t.Errorf("a/g written outside the root: %v", err)
			}
			wantFile(t, filepath.Join(root, "out", "g"), "x")
		},
	}, {
		name: "file replaced by a file, then by a directory",
		hdrs: []*tar.Header{reg("f", "one"), reg("f", "two"), reg("g", "one"),
			{Name: "g", Typeflag: tar.TypeDir}, reg("g/x", "x")},
		check: func(t *testing.T, _, root string) {
			wantFile(t, filepath.Join(root, "f"), "two")
			wantFile(t, filepath.Join(root, "g", "x"), "x")
		},
	}, {
		name: "hardlink to a file being written",
		hdrs: []*tar.Header{setuid, {Name: "h", Typeflag: tar.TypeLink, Linkname: "f"}},
		check: func(t *testing.T, _, root string) {
			wantFile(t, filepath.Join(root, "h"), "data")
			var st unix.Stat_t
			if unix.Lstat(filepath.Join(root, "h"), &st); st.Mode&0o7777 != 0o4755 || st.Uid != 1 || st.Nlink != 2 {
				t.Errorf("h: mode %o uid %d nlink %d, want 4755 1 2", st.Mode&0o7777, st.Uid, st.Nlink)
			}
		},
	}, {
		name: "large file from the stream",
		hdrs: []*tar.Header{reg("big", big), reg("small", "s")},
		check: func(t *testing.T, _, root string) {
			wantFile(t, filepath.Join(root, "big"), big)
			wantFile(t, filepath.Join(root, "small"), "s")
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			root := filepath.Join(base, "root")
			for _, d := range []string{root, filepath.Join(base, "out")} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			err := Extract(context.Background(), bytes.NewReader(tarOf(t, tt.hdrs...)), root, Options{Kind: "layer", Dest: "root"})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, base, root)
		})
	}
}

// TestExtractTruncated: a stream cut inside a file fails, whichever
// goroutine writes the file.
func TestExtractTruncated(t *testing.T) {
	testutil.RequireRoot(t)
	for _, size := range []int{10, smallFile + 10} {
		b := tarOf(t, reg("f", strings.Repeat("x", size)))
		err := Extract(context.Background(), bytes.NewReader(b[:512+size/2]), t.TempDir(), Options{Kind: "layer", Dest: "root"})
		if err == nil || !strings.Contains(err.Error(), `layer entry "f"`) {
			t.Errorf("size %d: Extract = %v, want an error naming f", size, err)
		}
	}
}

func wantFile(t *testing.T, p, want string) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil || string(got) != want {
		t.Errorf("%s: %d bytes (%v), want %d", p, len(got), err, len(want))
	}
}
