package fileop

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

func basicContext(t *testing.T) string {
	ctxDir := t.TempDir()
	mkTree(t, ctxDir,
		file("top.txt", "top"), file("a.conf", "a"), file("b.conf", "b"),
		file("docs/README.md", "readme"), file("src/one.txt", "one"),
		file("src/two.txt", "two"), file("src/sub/deep.txt", "deep"))
	return ctxDir
}

func TestCopyBuildKitCases(t *testing.T) {
	testutil.RequireRoot(t)
	tests := []struct {
		name  string
		paths []string
		dest  string
		list  string
		want  []string
	}{
		{"file into dir", []string{"top.txt"}, "/single/", "/single", []string{
			"/single dir 0755 0:0",
			"/single/top.txt file 0644 top 0:0",
		}},
		{"file renamed", []string{"top.txt"}, "/renamed.txt", "/renamed.txt", []string{
			"/renamed.txt file 0644 top 0:0",
		}},
		{"dir contents", []string{"src"}, "/copied-src", "/copied-src", []string{
			"/copied-src dir 0755 0:0",
			"/copied-src/one.txt file 0644 one 0:0",
			"/copied-src/sub dir 0755 0:0",
			"/copied-src/sub/deep.txt file 0644 deep 0:0",
			"/copied-src/two.txt file 0644 two 0:0",
		}},
		{"dir slash", []string{"src/"}, "/copied-src-slash/", "/copied-src-slash", []string{
			"/copied-src-slash dir 0755 0:0",
			"/copied-src-slash/one.txt file 0644 one 0:0",
			"/copied-src-slash/sub dir 0755 0:0",
			"/copied-src-slash/sub/deep.txt file 0644 deep 0:0",
			"/copied-src-slash/two.txt file 0644 two 0:0",
		}},
		{"wildcard", []string{"*.conf"}, "/confs/", "/confs", []string{
			"/confs dir 0755 0:0",
			"/confs/a.conf file 0644 a 0:0",
			"/confs/b.conf file 0644 b 0:0",
		}},
		{"wildcard without slash is a dir", []string{"*.conf"}, "/confs2", "/confs2", []string{
			"/confs2 dir 0755 0:0",
			"/confs2/a.conf file 0644 a 0:0",
			"/confs2/b.conf file 0644 b 0:0",
		}},
		{"multi", []string{"docs/README.md", "src/one.txt"}, "/multi/", "/multi", []string{
			"/multi dir 0755 0:0",
			"/multi/README.md file 0644 readme 0:0",
			"/multi/one.txt file 0644 one 0:0",
		}},
		{"everything", []string{"."}, "/everything/", "/everything", []string{
			"/everything dir 0755 0:0",
			"/everything/a.conf file 0644 a 0:0",
			"/everything/b.conf file 0644 b 0:0",
			"/everything/docs dir 0755 0:0",
			"/everything/docs/README.md file 0644 readme 0:0",
			"/everything/src dir 0755 0:0",
			"/everything/src/one.txt file 0644 one 0:0",
			"/everything/src/sub dir 0755 0:0",
			"/everything/src/sub/deep.txt file 0644 deep 0:0",
			"/everything/src/two.txt file 0644 two 0:0",
			"/everything/top.txt file 0644 top 0:0",
		}},
		{"workdir relative file", []string{"top.txt"}, "/rel/relative.txt", "/rel", []string{
			"/rel dir 0755 0:0",
			"/rel/relative.txt file 0644 top 0:0",
		}},
		{"workdir nested", []string{"src/sub"}, "/rel/nested/deeper/", "/rel", []string{
			"/rel dir 0755 0:0",
			"/rel/nested dir 0755 0:0",
			"/rel/nested/deeper dir 0755 0:0",
			"/rel/nested/deeper/deep.txt file 0644 deep 0:0",
		}},
		{"leading slash source", []string{"/src/one.txt"}, "/x/", "/x", []string{
			"/x dir 0755 0:0",
			"/x/one.txt file 0644 one 0:0",
		}},
	}
	ctxDir := basicContext(t)
	// Context files owned by someone else must still land as 0:0.
	if err := os.Lchown(filepath.Join(ctxDir, "top.txt"), 1234, 1234); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			err := Copy(context.Background(), CopyOptions{
				Src: Source{Root: ctxDir}, Paths: tt.paths, DestRoot: root, Dest: tt.dest,
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, listTree(t, root, tt.list)); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
		})
	}
}

const (
	testPasswd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
	testGroup  = "root:x:0:\napp:x:1000:\n"
)

func userRootfs(t *testing.T) string {
	root := t.TempDir()
	mkTree(t, root, file("etc/passwd", testPasswd), file("etc/group", testGroup))
	return root
}

func TestCopyChownChmod(t *testing.T) {
	testutil.RequireRoot(t)
	ctxDir := t.TempDir()
	mkTree(t, ctxDir, file("f.txt", "f"), file("g.sh", "g"), file("d/e.txt", "e"))
	tests := []struct {
		name  string
		chown string
		chmod string
		paths []string
		dest  string
		list  string
		want  []string
	}{
		{"numeric chown creates parent", "1000:1000", "", []string{"f.txt"}, "/owned/numeric.txt", "/owned", []string{
			"/owned dir 0755 1000:1000",
			"/owned/numeric.txt file 0644 f 1000:1000",
		}},
		{"named chown", "app:app", "", []string{"f.txt"}, "/owned/named.txt", "/owned/named.txt", []string{
			"/owned/named.txt file 0644 f 1000:1000",
		}},
		{"user only on dir", "app", "", []string{"d"}, "/owned/dir", "/owned", []string{
			"/owned dir 0755 1000:1000",
			"/owned/dir dir 0755 1000:1000",
			"/owned/dir/e.txt file 0644 e 1000:1000",
		}},
		{"chmod file", "", "0750", []string{"g.sh"}, "/bin/g.sh", "/bin", []string{
			"/bin dir 0755 0:0",
			"/bin/g.sh file 0750 g 0:0",
		}},
		{"chmod dir", "", "600", []string{"d"}, "/private", "/private", []string{
			"/private dir 0600 0:0",
			"/private/e.txt file 0600 e 0:0",
		}},
		{"chown and chmod", "1000", "0444", []string{"f.txt"}, "/ro.txt", "/ro.txt", []string{
			"/ro.txt file 0444 f 1000:1000",
		}},
		{"symbolic chmod", "", "u+x,g-r", []string{"d"}, "/sym/", "/sym", []string{
			"/sym dir 0755 0:0",
			"/sym/e.txt file 0704 e 0:0",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := userRootfs(t)
			opts := CopyOptions{Src: Source{Root: ctxDir}, Paths: tt.paths, DestRoot: root, Dest: tt.dest, Chmod: tt.chmod}
			if tt.chown != "" {
				o, err := LookupChown(root, tt.chown)
				if err != nil {
					t.Fatal(err)
				}
				opts.Chown = &o
			}
			if err := Copy(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, listTree(t, root, tt.list)); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCopyDockerignore(t *testing.T) {
	testutil.RequireRoot(t)
	ctxDir := t.TempDir()
	ignore := "# comments are ignored\nnode_modules\nlogs/*.log\n!logs/important.log\n**/*.env\nnested/logs\n"
	mkTree(t, ctxDir,
		file("Dockerfile", "FROM scratch"), file(".dockerignore", ignore), file("keep/k.txt", "k"),
		file("logs/a.log", "a"), file("logs/important.log", "i"), file("main.go", "m"),
		file("nested/code.go", "c"), file("nested/logs/x.log", "x"),
		file("node_modules/pkg/i.js", "j"), file("secret.env", "s"))
	pats, err := ReadDockerignore(ctxDir, filepath.Join(ctxDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMatcher(pats)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	src := Source{Root: ctxDir, Ignore: m}
	if err := Copy(context.Background(), CopyOptions{Src: src, Paths: []string{"."}, DestRoot: root, Dest: "/ctx/"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/ctx dir 0755 0:0",
		"/ctx/.dockerignore file 0644 " + ignore + " 0:0",
		"/ctx/Dockerfile file 0644 FROM scratch 0:0",
		"/ctx/keep dir 0755 0:0",
		"/ctx/keep/k.txt file 0644 k 0:0",
		"/ctx/logs dir 0755 0:0",
		"/ctx/logs/important.log file 0644 i 0:0",
		"/ctx/main.go file 0644 m 0:0",
		"/ctx/nested dir 0755 0:0",
		"/ctx/nested/code.go file 0644 c 0:0",
	}
	if diff := cmp.Diff(want, listTree(t, root, "/ctx")); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}

	// Ignored files are invisible to wildcards and explicit sources.
	root = t.TempDir()
	if err := Copy(context.Background(), CopyOptions{Src: src, Paths: []string{"*.env", "logs/*"}, DestRoot: root, Dest: "/w/"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/w dir 0755 0:0", "/w/important.log file 0644 i 0:0"}, listTree(t, root, "/w")); diff != "" {
		t.Errorf("wildcard tree (-want +got):\n%s", diff)
	}
	err = Copy(context.Background(), CopyOptions{Src: src, Paths: []string{"secret.env"}, DestRoot: root, Dest: "/s"})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("ignored explicit source: got %v, want not found", err)
	}
}

func TestCopyParents(t *testing.T) {
	testutil.RequireRoot(t)
	ctxDir := t.TempDir()
	mkTree(t, ctxDir,
		file("foo1/foo2/bar", "testing"), file("foo1/foo2/baz", "testing2"), file("other/x", "x"),
		dir("test/a/b/c/d/e"), file("test/a/b/c/d/foo", "foo"), file("test/a/b/c/d/e/bay", "bay"),
		file("test/a/b2/c/d/e/bar", "bar"))
	tests := []struct {
		name  string
		paths []string
		dest  string
		want  []string // files only below dest, relative
	}{
		{"no pivot", []string{"foo1/foo2/bar"}, "/", []string{"foo1/foo2/bar"}},
		{"wildcard", []string{"foo1/foo2/ba*"}, "/test/", []string{"foo1/foo2/bar", "foo1/foo2/baz"}},
		{"pivot", []string{"/test/a/b/./c/d"}, "/out/", []string{"c/d/e/bay", "c/d/foo"}},
		{"trailing dot is not a pivot", []string{"/test/a/b/c/d/."}, "/out/", []string{"test/a/b/c/d/e/bay", "test/a/b/c/d/foo"}},
		{"double pivot uses first", []string{"/test/a/./b/./c"}, "/out/", []string{"b/c/d/e/bay", "b/c/d/foo"}},
		{"wildcard after pivot", []string{"/test/a/./*/c"}, "/out/", []string{"b/c/d/e/bay", "b/c/d/foo", "b2/c/d/e/bar"}},
		{"wildcard before pivot", []string{"/test/a/b*/./c/**/e"}, "/out/", []string{"c/d/e/bar", "c/d/e/bay"}},
		{"wildcard no match", []string{"/test/a/b3*/c"}, "/out/", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			err := Copy(context.Background(), CopyOptions{Src: Source{Root: ctxDir}, Paths: tt.paths, DestRoot: root, Dest: tt.dest, Parents: true})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, listFiles(t, filepath.Join(root, tt.dest))); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
	err := Copy(context.Background(), CopyOptions{Src: Source{Root: ctxDir}, Paths: []string{"/test/nonexistent-file"}, DestRoot: t.TempDir(), Dest: "/out/", Parents: true})
	if err == nil || !strings.Contains(err.Error(), `"/test/nonexistent-file": not found`) {
		t.Errorf("missing --parents source: got %v", err)
	}
}

// listFiles returns the non-directory paths below dir, relative to it.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

func TestCopyExclude(t *testing.T) {
	testutil.RequireRoot(t)
	ctxDir := t.TempDir()
	mkTree(t, ctxDir,
		file("dir1/file-101.png", "2"), file("dir1/file-102.txt", "3"), file("dir1/file-103.jpeg", "4"),
		file("dir2/file-201.pdf", "6"), file("dir3/file-301.mp3", "9"), file("dir3/file-302.mpeg", "10"),
		file("dir4/file-401.txt", "11"), file("file-top.txt", "t"), file("file-top.bin", "b"))
	tests := []struct {
		name    string
		exclude []string
		paths   []string
		dest    string
		want    []string
	}{
		{"relative to context", []string{"*/*.png", "*/*.jpeg", "*.txt"}, []string{"."}, "/1", []string{
			"dir1/file-102.txt", "dir2/file-201.pdf", "dir3/file-301.mp3", "dir3/file-302.mpeg", "dir4/file-401.txt", "file-top.bin"}},
		{"relative to copied dir", []string{"*.mp3"}, []string{"dir3/"}, "/3/", []string{"file-302.mpeg"}},
		{"wildcard dirs", []string{"*.mp*", "*.jpeg", "*.png", "*.pdf"}, []string{"dir*"}, "/5", []string{"file-102.txt", "file-401.txt"}},
		{"wildcard files", []string{"dir1/*.txt"}, []string{"dir1/*"}, "/6/", []string{"file-101.png", "file-103.jpeg"}},
		{"top-level match", []string{"*.txt"}, []string{"dir1", "file-*"}, "/8/", []string{"file-101.png", "file-103.jpeg", "file-top.bin"}},
		{"re-include", []string{"dir1", "dir2", "!dir1/file-102.txt", "dir3", "dir4", "file-*"}, []string{"."}, "/9", []string{"dir1/file-102.txt"}},
		{"everything excluded", []string{"*"}, []string{"dir*"}, "/7", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			err := Copy(context.Background(), CopyOptions{Src: Source{Root: ctxDir}, Paths: tt.paths, DestRoot: root, Dest: tt.dest, Exclude: tt.exclude})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, listFiles(t, filepath.Join(root, tt.dest))); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCopyMissingAndEmptyWildcard(t *testing.T) {
	testutil.RequireRoot(t)
	ctxDir := basicContext(t)
	root := t.TempDir()
	err := Copy(context.Background(), CopyOptions{Src: Source{Root: ctxDir}, Paths: []string{"nope"}, DestRoot: root, Dest: "/x"})
	if err == nil || !strings.Contains(err.Error(), `"/nope": not found`) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing source: got %v", err)
	}
	// BuildKit's AllowEmptyWildcard: no error, other sources still copied.
	err = Copy(context.Background(), CopyOptions{Src: Source{Root: ctxDir}, Paths: []string{"top.txt", "nomatch*"}, DestRoot: root, Dest: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "top.txt")); err != nil {
		t.Error(err)
	}
	err = Copy(context.Background(), CopyOptions{Src: Source{Root: ctxDir}, Paths: []string{"nomatch*"}, DestRoot: root, Dest: "/empty/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, "empty")); !os.IsNotExist(err) {
		t.Errorf("empty wildcard created dest: %v", err)
	}
}

func TestCopyKeepOwnerAndTimes(t *testing.T) {
	testutil.RequireRoot(t)
	src := t.TempDir()
	mkTree(t, src, fileMode("bin/tool", "t", 0o4755), file("home/u/f", "f"), symlink("home/u/l", "f"))
	if err := os.Lchown(filepath.Join(src, "home/u/f"), 1000, 1001); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(filepath.Join(src, "home/u"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(filepath.Join(src, "home/u/l"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	mt := time.Unix(1700000000, 123456789)
	if err := os.Chtimes(filepath.Join(src, "home/u/f"), mt, mt); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "bin/tool"), 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []bool{true, false} {
		root := t.TempDir()
		err := Copy(context.Background(), CopyOptions{Src: Source{Root: src, KeepOwner: keep}, Paths: []string{"/"}, DestRoot: root, Dest: "/"})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			"/bin/tool file 4755 t 0:0",
			"/home/u dir 0755 1000:1000",
			"/home/u/f file 0644 f 1000:1001",
			"/home/u/l link -> f 1000:1000",
		}
		if !keep {
			want = []string{
				"/bin/tool file 4755 t 0:0",
				"/home/u dir 0755 0:0",
				"/home/u/f file 0644 f 0:0",
				"/home/u/l link -> f 0:0",
			}
		}
		got := append(listTree(t, root, "/bin/tool"), listTree(t, root, "/home/u")...)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("keep=%v (-want +got):\n%s", keep, diff)
		}
		fi, err := os.Stat(filepath.Join(root, "home/u/f"))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(mt) {
			t.Errorf("mtime = %v, want %v", fi.ModTime(), mt)
		}
	}

	// SourceDateEpoch clamps newer mtimes.
	root := t.TempDir()
	epoch := time.Unix(1600000000, 0)
	if err := Copy(context.Background(), CopyOptions{Src: Source{Root: src}, Paths: []string{"home/u/f"}, DestRoot: root, Dest: "/f", SourceDateEpoch: &epoch}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(root, "f")); err != nil || !fi.ModTime().Equal(epoch) {
		t.Errorf("clamped mtime = %v (%v), want %v", fi.ModTime(), err, epoch)
	}
}

func TestCopyReplaceAndMerge(t *testing.T) {
	testutil.RequireRoot(t)
	ctxDir := basicContext(t)
	root := t.TempDir()
	mkTree(t, root, dirMode("existing", 0o700), file("existing/old.txt", "old"), file("existing/one.txt", "stale"), file("file.txt", "old"))
	if err := os.Lchown(filepath.Join(root, "existing"), 5, 5); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := Copy(ctx, CopyOptions{Src: Source{Root: ctxDir}, Paths: []string{"src"}, DestRoot: root, Dest: "/existing"}); err != nil {
		t.Fatal(err)
	}
	if err := Copy(ctx, CopyOptions{Src: Source{Root: ctxDir}, Paths: []string{"top.txt"}, DestRoot: root, Dest: "/file.txt"}); err != nil {
		t.Fatal(err)
	}
	// A file to an existing dir without trailing slash goes into it.
	if err := Copy(ctx, CopyOptions{Src: Source{Root: ctxDir}, Paths: []string{"a.conf"}, DestRoot: root, Dest: "/existing"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/existing dir 0700 5:5",
		"/existing/a.conf file 0644 a 0:0",
		"/existing/old.txt file 0644 old 0:0",
		"/existing/one.txt file 0644 one 0:0",
		"/existing/sub dir 0755 0:0",
		"/existing/sub/deep.txt file 0644 deep 0:0",
		"/existing/two.txt file 0644 two 0:0",
		"/file.txt file 0644 top 0:0",
	}
	got := append(listTree(t, root, "/existing"), listTree(t, root, "/file.txt")...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCopySymlinkSafety(t *testing.T) {
	testutil.RequireRoot(t)
	outside := t.TempDir()
	ctxDir := t.TempDir()
	mkTree(t, ctxDir, file("f", "f"), file("inner/target", "inside"),
		symlink("d/escape", filepath.Join(outside, "secret")), file("d/plain", "p"),
		symlink("toplink", "/inner/target"), symlink("abslink", filepath.Join(outside, "secret")))
	mkTree(t, outside, file("secret", "SECRET"))
	hostTarget := filepath.Join(outside, "written")

	root := t.TempDir()
	mkTree(t, root, symlink("link", hostTarget), symlink("rel", "../../../../.."+outside))
	ctx := context.Background()
	src := Source{Root: ctxDir}
	for _, dest := range []string{"/link/x", "/rel/y"} {
		if err := Copy(ctx, CopyOptions{Src: src, Paths: []string{"f"}, DestRoot: root, Dest: dest}); err != nil {
			t.Fatalf("%s: %v", dest, err)
		}
	}
	if _, err := os.Lstat(hostTarget); !os.IsNotExist(err) {
		t.Fatalf("wrote through symlink to host path: %v", err)
	}
	if got := listFiles(t, outside); !cmp.Equal(got, []string{"secret"}) {
		t.Fatalf("outside dir modified: %v", got)
	}
	if b, err := os.ReadFile(filepath.Join(root, hostTarget, "x")); err != nil || string(b) != "f" {
		t.Errorf("in-root write: %q %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(root, outside, "y")); err != nil || string(b) != "f" {
		t.Errorf("in-root relative write: %q %v", b, err)
	}

	// A dir containing an escaping link copies the link itself.
	if err := Copy(ctx, CopyOptions{Src: src, Paths: []string{"d"}, DestRoot: root, Dest: "/d"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/d dir 0755 0:0",
		"/d/escape link -> " + filepath.Join(outside, "secret") + " 0:0",
		"/d/plain file 0644 p 0:0",
	}
	if diff := cmp.Diff(want, listTree(t, root, "/d")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A top-level symlink is followed inside the context root.
	if err := Copy(ctx, CopyOptions{Src: src, Paths: []string{"toplink"}, DestRoot: root, Dest: "/t/"}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "t/toplink")); err != nil || string(b) != "inside" {
		t.Errorf("top symlink: %q %v", b, err)
	}
	err := Copy(ctx, CopyOptions{Src: src, Paths: []string{"abslink"}, DestRoot: root, Dest: "/a"})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("escaping top symlink: got %v, want not found", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "a")); !os.IsNotExist(err) {
		t.Errorf("escaping top symlink copied something: %v", err)
	}
	// Sources may not climb out of the root either.
	err = Copy(ctx, CopyOptions{Src: src, Paths: []string{"../../" + filepath.Base(outside) + "/secret"}, DestRoot: root, Dest: "/b"})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("dotdot source: got %v, want not found", err)
	}
}

func TestCopyHardlinks(t *testing.T) {
	testutil.RequireRoot(t)
	src := t.TempDir()
	mkTree(t, src, file("h/a", "same"))
	if err := os.Link(filepath.Join(src, "h/a"), filepath.Join(src, "h/b")); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := Copy(context.Background(), CopyOptions{Src: Source{Root: src}, Paths: []string{"h"}, DestRoot: root, Dest: "/h"}); err != nil {
		t.Fatal(err)
	}
	var a, b unix.Stat_t
	if err := unix.Stat(filepath.Join(root, "h/a"), &a); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(filepath.Join(root, "h/b"), &b); err != nil {
		t.Fatal(err)
	}
	if a.Ino != b.Ino {
		t.Errorf("hardlink not preserved")
	}
}
