package hardening

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/snapshot"
)

// layerCase is a hostile layer. want is the error every extraction path
// must give; "" means the layer is legal and must land inside the root.
type layerCase struct {
	name string
	ents func(s string) []ent // s is the sentinel dir
	want string
	raw  func(t *testing.T, s string) []byte // instead of ents
}

// hostCanaries are absolute host paths hostile names aim at.
var hostCanaries = []string{"/lade-hardening-pwned", "/etc/lade-hardening-pwned", "/tmp/lade-hardening-pwned"}

func dotdots(s string) string { return strings.Repeat("../", 12) + strings.TrimPrefix(s, "/") }

var layerCases = []layerCase{
	{name: "dotdot-file", want: "escapes", ents: func(s string) []ent { return []ent{file(dotdots(s)+"/pwned", "x")} }},
	{name: "dotdot-mid", want: "escapes", ents: func(s string) []ent { return []ent{dir("a/"), file("a/../../../tmp/lade-hardening-pwned", "x")} }},
	{name: "dotdot-dir", want: "escapes", ents: func(s string) []ent { return []ent{dir("../../../" + strings.TrimPrefix(s, "/") + "/newdir/")} }},
	{name: "absolute-name", ents: func(s string) []ent {
		return []ent{file(s+"/pwned", "x"), file("/etc/lade-hardening-pwned", "x"), file("/lade-hardening-pwned", "x")}
	}},
	{name: "abs-symlink-then-file", ents: func(s string) []ent {
		return []ent{symlink("esc", s), file("esc/pwned", "x"), file("esc/secret", "over")}
	}},
	{name: "rel-symlink-then-file", ents: func(s string) []ent { return []ent{symlink("esc", dotdots(s)), file("esc/pwned", "x")} }},
	{name: "symlink-to-slash", ents: func(s string) []ent {
		return []ent{symlink("esc", "/"), file("esc/lade-hardening-pwned", "x"), file("esc/etc/lade-hardening-pwned", "x")}
	}},
	{name: "symlink-chain", ents: func(s string) []ent {
		return []ent{symlink("a", "b"), symlink("b", "../c/../.."+s+"/sub"), file("a/keep", "over"), file("a/new", "x")}
	}},
	{name: "symlink-loop", want: "too many levels", ents: func(s string) []ent {
		return []ent{symlink("a", "b"), symlink("b", "a"), file("a/x", "x")}
	}},
	{name: "file-over-symlink", ents: func(s string) []ent { return []ent{symlink("x", s+"/secret"), file("x", "over")} }},
	{name: "dir-over-symlink", ents: func(s string) []ent { return []ent{symlink("d", s), dir("d/"), file("d/pwned", "x")} }},
	{name: "hardlink-absolute", want: "does not exist", ents: func(s string) []ent {
		return []ent{{name: "h", link: s + "/secret", typ: tar.TypeLink, mode: 0o644}}
	}},
	{name: "hardlink-dotdot", want: "escapes", ents: func(s string) []ent {
		return []ent{{name: "h", link: dotdots(s) + "/secret", typ: tar.TypeLink, mode: 0o644}}
	}},
	{name: "hardlink-via-symlink", want: "does not exist", ents: func(s string) []ent {
		return []ent{symlink("esc", s), {name: "h", link: "esc/secret", typ: tar.TypeLink, mode: 0o644}}
	}},
	{name: "hardlink-then-write", ents: func(s string) []ent {
		return []ent{symlink("esc", s+"/secret"), {name: "h", link: "esc", typ: tar.TypeLink}, file("h", "over")}
	}},
	{name: "whiteout-dotdot", want: "invalid whiteout", ents: func(s string) []ent { return []ent{file(".wh..", "")} }},
	{name: "whiteout-via-symlink", ents: func(s string) []ent { return []ent{symlink("esc", s), file("esc/.wh.secret", "")} }},
	{name: "whiteout-dotdot-path", want: "escapes", ents: func(s string) []ent { return []ent{file(dotdots(s)+"/.wh.secret", "")} }},
	{name: "opaque-at-root", ents: func(s string) []ent { return []ent{file(".wh..wh..opq", ""), file("x", "x")} }},
	{name: "opaque-via-symlink", want: "not a directory", ents: func(s string) []ent { return []ent{symlink("esc", s), file("esc/.wh..wh..opq", "")} }},
	{name: "opaque-under-file", want: "not a directory", ents: func(s string) []ent { return []ent{file("f", "x"), file("f/.wh..wh..opq", "")} }},
	{name: "opaque-as-dir", ents: func(s string) []ent { return []ent{dir(".wh..wh..opq/"), file(".wh..wh..opq/x", "")} }},
	{name: "device-nodes", ents: func(s string) []ent {
		return []ent{{name: "mem", typ: tar.TypeChar, mode: 0o666}, {name: "sda", typ: tar.TypeBlock, mode: 0o666}, {name: "fifo", typ: tar.TypeFifo, mode: 0o600}}
	}},
	{name: "root-as-file", want: "root entry is not a directory", ents: func(s string) []ent { return []ent{file(".", "x")} }},
	{name: "giant-declared-size", want: "unexpected EOF", ents: func(s string) []ent {
		return []ent{{name: "big", typ: tar.TypeReg, mode: 0o644, size: 1 << 40}}
	}},
	{name: "trailing-garbage", raw: func(t *testing.T, s string) []byte {
		return append(layerTar(t, file("ok", "x")), bytes.Repeat([]byte("garbage!"), 1000)...)
	}},
	{name: "not-a-tar", want: "reading layer", raw: func(t *testing.T, s string) []byte {
		return bytes.Repeat([]byte{0xff}, 4096)
	}},
}

func (c layerCase) data(t *testing.T, s string) []byte {
	if c.raw != nil {
		return c.raw(t, s)
	}
	return layerTar(t, c.ents(s)...)
}

func diffIDOf(b []byte) v1.Hash {
	h, _ := v1.NewHash(sha(b))
	return h
}

func checkCanaries(t *testing.T) {
	t.Helper()
	for _, p := range hostCanaries {
		if _, err := os.Lstat(p); err == nil {
			os.Remove(p)
			t.Errorf("hostile layer wrote the host's %s", p)
		}
	}
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("legal layer failed: %v", err)
	case want != "" && err == nil:
		t.Fatalf("hostile layer accepted, want error %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not say %q", err, want)
	}
}

// TestHostileLayerUnpack feeds each layer to snapshot.Unpack (overlay form)
// and snapshot.Apply (plain form).
func TestHostileLayerUnpack(t *testing.T) {
	testutil.RequireRoot(t)
	for _, c := range layerCases {
		t.Run(c.name, func(t *testing.T) {
			s := sentinel(t)
			base := t.TempDir()
			data := c.data(t, s)
			before := snap(t, s)
			sn, err := snapshot.New(filepath.Join(base, "snapshots"))
			if err != nil {
				t.Fatal(err)
			}
			d := diffIDOf(data)
			err = sn.Unpack(context.Background(), d, bytes.NewReader(data))
			wantErr(t, err, c.want)
			if (err == nil) != sn.Has(d) {
				t.Errorf("Unpack error %v but committed=%v", err, sn.Has(d))
			}
			if ents, _ := os.ReadDir(filepath.Join(base, "snapshots", "tmp")); len(ents) > 0 {
				t.Errorf("unpack left %d temp dirs", len(ents))
			}
			applyDir := filepath.Join(base, "apply")
			if err := os.Mkdir(applyDir, 0o755); err != nil {
				t.Fatal(err)
			}
			wantErr(t, snapshot.Apply(context.Background(), applyDir, bytes.NewReader(data)), c.want)
			sameTree(t, before, snap(t, s), nil)
			checkCanaries(t)
		})
	}
}

// TestHostileLayerUnpackDigest: a layer whose content is not its diffID is
// refused and nothing is committed.
func TestHostileLayerUnpackDigest(t *testing.T) {
	testutil.RequireRoot(t)
	sn, err := snapshot.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := layerTar(t, file("a", "x"))
	wrong := diffIDOf([]byte("other"))
	err = sn.Unpack(context.Background(), wrong, bytes.NewReader(data))
	wantErr(t, err, "digest mismatch")
	if sn.Has(wrong) {
		t.Fatal("mismatched layer was committed")
	}
}

// TestHostileLayerBuild loads each layer on top of busybox with lade load,
// then builds FROM it: the build fails with the same error, or for legal
// layers succeeds with everything inside the rootfs.
func TestHostileLayerBuild(t *testing.T) {
	needLade(t)
	for i, c := range layerCases {
		t.Run(c.name, func(t *testing.T) {
			s := sentinel(t)
			root := newRoot(t)
			data := c.data(t, s)
			tag := fmt.Sprintf("hostile:%d", i)
			arch := writeTemp(t, "img.tar", dockerArchive(t, tag, archLayer{data: busyboxLayer(t)}, archLayer{data: data}))
			ctxDir := writeTree(t, map[string]string{"Dockerfile": "FROM " + tag + "\nRUN echo built > /built\n"})
			before := snap(t, s, ctxDir)
			wantOK(t, lade(t, root, nil, "load", "-i", arch))
			r := lade(t, root, nil, "build", "-t", "out", ctxDir)
			if c.want == "" {
				wantOK(t, r)
			} else {
				wantFail(t, r, c.want)
				hex := diffIDOf(data).Hex
				if _, err := os.Stat(filepath.Join(root, "snapshots", "layers", hex)); err == nil {
					t.Error("hostile layer was committed as a snapshot")
				}
			}
			sameTree(t, before, snap(t, s, ctxDir), nil)
			checkCanaries(t)
			checkStore(t, root)
		})
	}
}

// TestLegalLinksRun: /var/run -> /run and absolute links inside the image
// resolve in the rootfs, extract and run.
func TestLegalLinksRun(t *testing.T) {
	needLade(t)
	s := sentinel(t)
	root := newRoot(t)
	data := layerTar(t, dir("var/"), dir("run/"), symlink("var/run", "/run"), file("var/run/app.pid", "42\n"),
		symlink("etc/abs", "/etc/group"), symlink("etc/out", s+"/secret"), file("etc/lade-hardening-pwned", "in\n"))
	arch := writeTemp(t, "img.tar", dockerArchive(t, "links:1", archLayer{data: busyboxLayer(t)}, archLayer{data: data}))
	before := snap(t, s)
	wantOK(t, lade(t, root, nil, "load", "-i", arch))
	r := lade(t, root, nil, "run", "--rm", "links:1", "sh", "-c", "cat /run/app.pid; head -n1 /etc/abs; cat /etc/out || echo dangling")
	wantOK(t, r)
	if r.stdout != "42\nroot:x:0:\ndangling\n" {
		t.Fatalf("run printed %q", r.stdout)
	}
	sameTree(t, before, snap(t, s), nil)
	checkCanaries(t)
	checkStore(t, root)
}
