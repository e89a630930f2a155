package fileop

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"

	"github.com/lade-build/lade/internal/testutil"
)

type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
	uid              int
}

func makeTar(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: mode, Size: int64(len(e.body)),
			Linkname: e.link, Uid: e.uid, Gid: e.uid, ModTime: time.Unix(1500000000, 0)}
		if typ == tar.TypeXGlobalHeader {
			hdr = &tar.Header{Typeflag: typ, PAXRecords: map[string]string{"comment": e.name}}
		}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t *testing.T, b []byte) []byte { return testutil.Gzip(t, b) }

func zstdBytes(t *testing.T, b []byte) []byte {
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}

func cmdBytes(t *testing.T, b []byte, name string, args ...string) []byte {
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed", name)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAddExtracts(t *testing.T) {
	testutil.RequireRoot(t)
	plain := makeTar(t,
		// git archive starts with one; it carries no file.
		tarEntry{name: "pax_global_header", typ: tar.TypeXGlobalHeader},
		tarEntry{name: "app/", typ: tar.TypeDir, mode: 0o750},
		tarEntry{name: "app/main", body: "bin", mode: 0o755, uid: 7},
		tarEntry{name: "app/link", link: "main", typ: tar.TypeSymlink},
		tarEntry{name: "app/hard", link: "app/main", typ: tar.TypeLink},
		// As link(2) in BuildKit's chroot: the symlink itself, not its target.
		tarEntry{name: "app/hard-to-link", link: "app/link", typ: tar.TypeLink},
		tarEntry{name: "abs", link: "/app", typ: tar.TypeSymlink},
		tarEntry{name: "abs/via-abs", body: "x"},
	)
	want := []string{
		"/out dir 0755 0:0",
		"/out/abs link -> /app 0:0",
		"/out/app dir 0750 0:0",
		"/out/app/hard file 0755 bin 7:7",
		"/out/app/hard-to-link link -> main 0:0",
		"/out/app/link link -> main 0:0",
		"/out/app/main file 0755 bin 7:7",
		"/out/app/via-abs file 0644 x 0:0",
	}
	tests := []struct {
		name string
		data func(t *testing.T) []byte
	}{
		{"tar", func(t *testing.T) []byte { return plain }},
		{"tar.gz", func(t *testing.T) []byte { return gzipBytes(t, plain) }},
		{"tar.zst", func(t *testing.T) []byte { return zstdBytes(t, plain) }},
		{"tar.bz2", func(t *testing.T) []byte { return cmdBytes(t, plain, "bzip2", "-c") }},
		{"tar.xz", func(t *testing.T) []byte { return cmdBytes(t, plain, "xz", "-c") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctxDir, root := t.TempDir(), t.TempDir()
			// The name says nothing: detection is by content.
			if err := os.WriteFile(filepath.Join(ctxDir, "blob"), tt.data(t), 0o644); err != nil {
				t.Fatal(err)
			}
			err := Copy(context.Background(), CopyOptions{Src: Source{Root: ctxDir}, Paths: []string{"blob"}, DestRoot: root, Dest: "/out", Add: true})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, listTree(t, root, "/out")); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			fi, err := os.Lstat(filepath.Join(root, "out/app/main"))
			if err != nil || !fi.ModTime().Equal(time.Unix(1500000000, 0)) {
				t.Errorf("mtime %v %v", fi.ModTime(), err)
			}
		})
	}
}

func TestAddRejectsEscapes(t *testing.T) {
	testutil.RequireRoot(t)
	tests := []struct {
		name    string
		entries []tarEntry
	}{
		{"dotdot", []tarEntry{{name: "ok.txt", body: "ok"}, {name: "../escape", body: "bad"}}},
		{"nested dotdot", []tarEntry{{name: "a/../../escape", body: "bad"}}},
		{"hardlink out", []tarEntry{{name: "h", link: "../escape", typ: tar.TypeLink}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			ctxDir, root := filepath.Join(base, "ctx"), filepath.Join(base, "root")
			mkTree(t, base, dir("ctx"), dir("root"))
			if err := os.WriteFile(filepath.Join(ctxDir, "evil.tar.gz"), gzipBytes(t, makeTar(t, tt.entries...)), 0o644); err != nil {
				t.Fatal(err)
			}
			err := Copy(context.Background(), CopyOptions{Src: Source{Root: ctxDir}, Paths: []string{"evil.tar.gz"}, DestRoot: root, Dest: "/x/", Add: true})
			if err == nil || !strings.Contains(err.Error(), "escapes") {
				t.Fatalf("got %v, want escape error", err)
			}
			for _, p := range []string{filepath.Join(base, "escape"), filepath.Join(root, "escape")} {
				if _, err := os.Lstat(p); !os.IsNotExist(err) {
					t.Errorf("%s exists", p)
				}
			}
		})
	}

	// Symlinks in the archive cannot redirect later entries outside.
	base := t.TempDir()
	ctxDir, root, outside := filepath.Join(base, "ctx"), filepath.Join(base, "root"), filepath.Join(base, "outside")
	mkTree(t, base, dir("ctx"), dir("root"), dir("outside"))
	data := makeTar(t, tarEntry{name: "l", link: outside, typ: tar.TypeSymlink}, tarEntry{name: "l/pwned", body: "x"})
	if err := os.WriteFile(filepath.Join(ctxDir, "s.tar"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Copy(context.Background(), CopyOptions{Src: Source{Root: ctxDir}, Paths: []string{"s.tar"}, DestRoot: root, Dest: "/x/", Add: true}); err != nil {
		t.Fatal(err)
	}
	if got := listFiles(t, outside); len(got) != 0 {
		t.Errorf("wrote outside: %v", got)
	}
	if _, err := os.Stat(filepath.Join(root, "x", outside, "pwned")); err != nil {
		t.Errorf("entry not kept in-root: %v", err)
	}
}

func TestAddNonArchiveCopies(t *testing.T) {
	testutil.RequireRoot(t)
	ctxDir, root := t.TempDir(), t.TempDir()
	mkTree(t, ctxDir, file("notes.tar.gz", "just text"), file("empty", ""))
	err := Copy(context.Background(), CopyOptions{Src: Source{Root: ctxDir}, Paths: []string{"notes.tar.gz", "empty"}, DestRoot: root, Dest: "/n/", Add: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/n dir 0755 0:0", "/n/empty file 0644  0:0", "/n/notes.tar.gz file 0644 just text 0:0"}
	if diff := cmp.Diff(want, listTree(t, root, "/n")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// COPY never extracts.
	mkTree(t, ctxDir, fileMode("real.tar", string(makeTar(t, tarEntry{name: "a", body: "a"})), 0o644))
	if err := Copy(context.Background(), CopyOptions{Src: Source{Root: ctxDir}, Paths: []string{"real.tar"}, DestRoot: root, Dest: "/c/"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(root, "c/real.tar")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("COPY of a tar: %v", err)
	}
}
