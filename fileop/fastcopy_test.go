package fileop

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

// manyFiles makes a tree big enough to keep every copy worker busy, with
// the metadata a copy must carry: modes, owners, xattrs and times on
// files and dirs, an empty file and files larger than one copy buffer.
func manyFiles(t *testing.T, root string) map[string][]byte {
	t.Helper()
	want := map[string][]byte{}
	for d := 0; d < 3; d++ {
		for f := 0; f < 40; f++ {
			size := 100 + f
			switch f {
			case 0:
				size = 0
			case 1:
				size = 300 << 10 // more than one 128 KiB buffer
			}
			b := make([]byte, size)
			rand.Read(b)
			rel := fmt.Sprintf("d%d/sub/f%d", d, f)
			want[rel] = b
			p := filepath.Join(root, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := unix.Chmod(p, 0o640+uint32(f%2)); err != nil {
				t.Fatal(err)
			}
			if err := os.Lchown(p, 100+f, 200+d); err != nil {
				t.Fatal(err)
			}
		}
	}
	return want
}

func TestCopyManyFilesKeepsContentAndMetadata(t *testing.T) {
	testutil.RequireRoot(t)
	srcs := []string{t.TempDir()}
	// From tmpfs to the test's disk copy_file_range fails with EXDEV, as
	// it does from a build context into an overlay: the read/write path.
	if shm, err := os.MkdirTemp("/dev/shm", "fileop-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(shm) })
		srcs = append(srcs, shm)
	}
	for _, src := range srcs {
		want := manyFiles(t, src)
		xattrs := unix.Setxattr(filepath.Join(src, "d1/sub/f5"), "user.lade", []byte("v"), 0) == nil
		mt := time.Unix(1700000000, 5)
		for _, d := range []string{"d0", "d0/sub", "d2/sub"} {
			if err := os.Chtimes(filepath.Join(src, d), mt, mt); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(filepath.Join(src, "d2/sub/f7"), mt, mt); err != nil {
			t.Fatal(err)
		}
		// Hold the last dir's files back so they are created after the
		// walk has finished every dir.
		testBeforeCreate = func(dst string) {
			if strings.Contains(dst, "/d2/sub/") {
				time.Sleep(time.Millisecond)
			}
		}
		t.Cleanup(func() { testBeforeCreate = nil })
		root := t.TempDir()
		err := Copy(context.Background(), CopyOptions{Src: Source{Root: src, KeepOwner: true}, Paths: []string{"."}, DestRoot: root, Dest: "/out"})
		if err != nil {
			t.Fatal(err)
		}
		for rel, b := range want {
			p := filepath.Join(root, "out", rel)
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, b) {
				t.Errorf("%s: content differs (%d bytes, want %d)", rel, len(got), len(b))
			}
			var st, sst unix.Stat_t
			if err := unix.Lstat(p, &st); err != nil {
				t.Fatal(err)
			}
			if err := unix.Lstat(filepath.Join(src, rel), &sst); err != nil {
				t.Fatal(err)
			}
			if st.Mode != sst.Mode || st.Uid != sst.Uid || st.Gid != sst.Gid || st.Mtim != sst.Mtim {
				t.Errorf("%s: mode %o %d:%d mtime %v, want %o %d:%d %v", rel, st.Mode, st.Uid, st.Gid, st.Mtim, sst.Mode, sst.Uid, sst.Gid, sst.Mtim)
			}
		}
		// Dir times are set after their files are written, or they would
		// show the time of the copy.
		for _, d := range []string{"d0", "d0/sub", "d2/sub"} {
			fi, err := os.Stat(filepath.Join(root, "out", d))
			if err != nil {
				t.Fatal(err)
			}
			if !fi.ModTime().Equal(mt) {
				t.Errorf("%s: dir mtime %v, want %v", d, fi.ModTime(), mt)
			}
		}
		if xattrs {
			v := make([]byte, 16)
			n, err := unix.Lgetxattr(filepath.Join(root, "out/d1/sub/f5"), "user.lade", v)
			if err != nil {
				t.Errorf("xattr user.lade not copied: %v", err)
			} else if string(v[:n]) != "v" {
				t.Errorf("xattr user.lade = %q, want \"v\"", v[:n])
			}
		}
	}
}

func TestCopyManyFilesReportsWorkerError(t *testing.T) {
	testutil.RequireRoot(t)
	src := t.TempDir()
	manyFiles(t, src)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "out/d1/sub/f9"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := Copy(context.Background(), CopyOptions{Src: Source{Root: src}, Paths: []string{"."}, DestRoot: root, Dest: "/out"})
	if err == nil || !strings.Contains(err.Error(), "cannot replace directory /out/d1/sub/f9") {
		t.Fatalf("err = %v, want cannot replace directory /out/d1/sub/f9", err)
	}
}
