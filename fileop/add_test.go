package fileop

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

func TestURLFileName(t *testing.T) {
	tests := []struct{ url, want string }{
		{"http://h/file[1].txt", "file[1].txt"},
		{"http://h/dir/a%20b.txt?x=1#f", "a b.txt"},
		{"http://h/dir/", "dir"},
		{"http://h/", "__unnamed__"},
		{"http://h", "__unnamed__"},
		{"http://h/a/..", "download"},
		{"http://h/%0a", "download"},
	}
	for _, tt := range tests {
		if got := URLFileName(tt.url); got != tt.want {
			t.Errorf("URLFileName(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

// TestAddLimit: entries are charged before they are written, so the first
// entry past the limit leaves nothing of itself behind.
func TestAddLimit(t *testing.T) {
	testutil.RequireRoot(t) // extraction chowns
	ctxDir, root := t.TempDir(), t.TempDir()
	data := makeTar(t, tarEntry{name: "small", body: "abc"}, tarEntry{name: "big", body: string(make([]byte, 4096))})
	if err := os.WriteFile(filepath.Join(ctxDir, "a.tar"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := CopyOptions{Src: Source{Root: ctxDir}, Paths: []string{"a.tar"}, DestRoot: root, Dest: "/x/", Add: true}
	opts.Limit = NewLimit(2000, "TEST_LIMIT")
	err := Copy(context.Background(), opts)
	if !errors.Is(err, ErrLimit) || err.Error() != "copy a.tar: expands past the 2000-byte layer limit (TEST_LIMIT)" {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "x/big")); !os.IsNotExist(err) {
		t.Errorf("the entry past the limit was written: %v", err)
	}
	opts.Limit = NewLimit(10000, "TEST_LIMIT")
	if err := Copy(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
}

// TestAddCreatesDeviceNodes: like BuildKit (moby/go-archive), ADD of a tar
// creates the device nodes and FIFOs it holds, with their numbers and
// modes. Layers of pulled images never create them (snapshot.Apply).
func TestAddCreatesDeviceNodes(t *testing.T) {
	testutil.RequireRoot(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3},
		{Name: "dev/loop9", Typeflag: tar.TypeBlock, Mode: 0o660, Devmajor: 7, Devminor: 9},
		{Name: "dev/fifo", Typeflag: tar.TypeFifo, Mode: 0o600},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	ctxDir, root := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ctxDir, "devs.tar"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Copy(context.Background(), CopyOptions{Src: Source{Root: ctxDir}, Paths: []string{"devs.tar"}, DestRoot: root, Dest: "/", Add: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name         string
		mode         uint32
		major, minor uint32
	}{
		{"dev/null", unix.S_IFCHR | 0o666, 1, 3},
		{"dev/loop9", unix.S_IFBLK | 0o660, 7, 9},
		{"dev/fifo", unix.S_IFIFO | 0o600, 0, 0},
	} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, c.name), &st); err != nil {
			t.Fatal(err)
		}
		if st.Mode != c.mode || unix.Major(st.Rdev) != c.major || unix.Minor(st.Rdev) != c.minor {
			t.Errorf("%s: mode %o rdev %d:%d, want %o %d:%d", c.name, st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev), c.mode, c.major, c.minor)
		}
	}
}
