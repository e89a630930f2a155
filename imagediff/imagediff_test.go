package imagediff

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/lade-build/lade/internal/testutil"
)

// file is one tar entry of a synthetic layer.
type file struct {
	hdr  tar.Header
	body string
}

var epoch = time.Unix(1700000000, 0).UTC()

func reg(name, body string) file {
	return file{tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: epoch}, body}
}

// baseFiles is a layer with one entry of each kind the tests change.
func baseFiles() []file {
	return []file{
		{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755, ModTime: epoch}},
		reg("etc/a", "hello\n"),
		reg("stamp", "1\n"),
		{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: "etc/a", Mode: 0o777, ModTime: epoch}},
		{hdr: tar.Header{Typeflag: tar.TypeLink, Name: "h", Linkname: "etc/a", ModTime: epoch}},
	}
}

func tarOf(t *testing.T, files []file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := f.hdr
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func layerOf(t *testing.T, files []file, level int) v1.Layer {
	t.Helper()
	data := tarOf(t, files)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithCompressionLevel(level))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// spec describes a synthetic image: its layers' files and a config edit.
type spec struct {
	layers [][]file
	level  int // gzip level of the layers
	config func(*v1.Config)
	edit   func(*v1.ConfigFile)
}

func baseSpec() spec {
	return spec{layers: [][]file{baseFiles(), {reg("app", "v1\n")}}, level: gzip.BestSpeed}
}

func build(t *testing.T, s spec) v1.Image {
	t.Helper()
	img := empty.Image
	for _, fs := range s.layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:   layerOf(t, fs, s.level),
			History: v1.History{CreatedBy: "COPY", Created: v1.Time{Time: epoch}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return testutil.EditConfig(t, img, func(cf *v1.ConfigFile) {
		cf.Created = v1.Time{Time: epoch}
		cf.Architecture, cf.OS = "amd64", "linux"
		cf.Config.Env = []string{"PATH=/bin"}
		cf.Config.Cmd = []string{"sh"}
		if s.config != nil {
			s.config(&cf.Config)
		}
		if s.edit != nil {
			s.edit(cf)
		}
	})
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

// withFile returns spec s with layer 0's entry name changed by fn.
func withFile(name string, fn func(*file)) spec {
	s := baseSpec()
	for i := range s.layers[0] {
		if s.layers[0][i].hdr.Name == name {
			fn(&s.layers[0][i])
		}
	}
	return s
}

func TestCompare(t *testing.T) {
	diffID := func(s spec, i int) string {
		l := layerOf(t, s.layers[i], s.level)
		h, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		return h.String()
	}
	reordered := baseSpec()
	reordered.layers[0][1], reordered.layers[0][2] = reordered.layers[0][2], reordered.layers[0][1]
	cases := []struct {
		name string
		b    spec
		want []string
	}{
		{"identical", baseSpec(), nil},
		{"content", withFile("stamp", func(f *file) { *f = reg("stamp", "2\n") }),
			[]string{"layer 0: /stamp: content differs (" + sha("1\n") + " vs " + sha("2\n") + ")"}},
		{"mode", withFile("etc/a", func(f *file) { f.hdr.Mode = 0o755 }),
			[]string{"layer 0: /etc/a: mode differs (0644 vs 0755)"}},
		{"owner", withFile("etc/a", func(f *file) { f.hdr.Uid, f.hdr.Gid = 1000, 100 }),
			[]string{"layer 0: /etc/a: gid differs (0 vs 100)", "layer 0: /etc/a: uid differs (0 vs 1000)"}},
		{"mtime", withFile("etc/", func(f *file) { f.hdr.ModTime = epoch.Add(time.Second) }),
			[]string{"layer 0: /etc: mtime differs (2023-11-14T22:13:20Z vs 2023-11-14T22:13:21Z)"}},
		{"symlink", withFile("l", func(f *file) { f.hdr.Linkname = "/etc/a" }),
			[]string{"layer 0: /l: link target differs (etc/a vs /etc/a)"}},
		{"hardlink", withFile("h", func(f *file) { f.hdr.Linkname = "stamp" }),
			[]string{"layer 0: /h: hardlink target differs (/etc/a vs /stamp)"}},
		{"hardlink to copy", withFile("h", func(f *file) { *f = reg("h", "hello\n") }),
			[]string{"layer 0: /h: content differs ((none) vs " + sha("hello\n") + ")",
				"layer 0: /h: hardlink target differs (/etc/a vs (none))",
				"layer 0: /h: mode differs (0000 vs 0644)",
				"layer 0: /h: type differs (hardlink vs file)"}},
		{"xattr", withFile("etc/a", func(f *file) {
			f.hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.x": "1"}
		}), []string{`layer 0: /etc/a: xattr user.x differs ((none) vs "1")`}},
		{"added", func() spec {
			s := baseSpec()
			s.layers[1] = append(s.layers[1], reg("new", ""))
			return s
		}(), []string{"layer 1: /new: only in B"}},
		{"removed", func() spec {
			s := baseSpec()
			s.layers[0] = s.layers[0][:4]
			return s
		}(), []string{"layer 0: /h: only in A"}},
		{"order", reordered, []string{"layer 0: tar entry order differs (" + diffID(baseSpec(), 0) + " vs " + diffID(reordered, 0) + ")"}},
		{"gzip", func() spec { s := baseSpec(); s.level = gzip.BestCompression; return s }(), []string{
			"layer 0: compressed blob differs (" + digest(t, baseSpec(), 0) + " vs " + digest(t, spec{layers: baseSpec().layers, level: gzip.BestCompression}, 0) + ")",
			"layer 1: compressed blob differs (" + digest(t, baseSpec(), 1) + " vs " + digest(t, spec{layers: baseSpec().layers, level: gzip.BestCompression}, 1) + ")",
		}},
		{"env", spec{layers: baseSpec().layers, level: gzip.BestSpeed, config: func(c *v1.Config) { c.Env = append(c.Env, "A=1") }},
			[]string{`config: .Config.Env differs: ["PATH=/bin"] vs ["PATH=/bin","A=1"]`}},
		{"cmd and labels", spec{layers: baseSpec().layers, level: gzip.BestSpeed, config: func(c *v1.Config) {
			c.Cmd, c.Labels = []string{"true"}, map[string]string{"v": "2"}
		}}, []string{`config: .Config.Cmd differs: ["sh"] vs ["true"]`, `config: .Config.Labels differs: null vs {"v":"2"}`}},
		{"created", spec{layers: baseSpec().layers, level: gzip.BestSpeed, edit: func(c *v1.ConfigFile) {
			c.Created = v1.Time{Time: epoch.Add(time.Hour)}
			c.History[1].Created = v1.Time{Time: epoch.Add(time.Hour)}
		}}, []string{`config: .Created differs: "2023-11-14T22:13:20Z" vs "2023-11-14T23:13:20Z"`,
			`config: .History[1] differs: {"created":"2023-11-14T22:13:20Z","created_by":"COPY"} vs {"created":"2023-11-14T23:13:20Z","created_by":"COPY"}`}},
		{"extra layer", func() spec {
			s := baseSpec()
			s.layers = append(s.layers, []file{reg("x", "")})
			return s
		}(), nil}, // checked below: too long to spell out
	}
	a := build(t, baseSpec())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Compare(context.Background(), a, build(t, tc.b))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range r.Differences {
				got = append(got, d.String())
			}
			if tc.name == "extra layer" {
				checkExtraLayer(t, got)
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Compare report (-want +got):\n%s", diff)
			}
			if r.Identical != (len(tc.want) == 0) {
				t.Errorf("Identical = %v with %d differences", r.Identical, len(got))
			}
		})
	}
}

func digest(t *testing.T, s spec, i int) string {
	t.Helper()
	h, err := layerOf(t, s.layers[i], s.level).Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// checkExtraLayer: a third layer shows in the config's history and as a
// layer only in B.
func checkExtraLayer(t *testing.T, got []string) {
	t.Helper()
	prefixes := []string{"config: .History[2] differs: (none) vs ", "layer 2: only in B (sha256:"}
	if len(got) != len(prefixes) {
		t.Fatalf("report = %q, want %d lines", got, len(prefixes))
	}
	for i, p := range prefixes {
		if len(got[i]) < len(p) || got[i][:len(p)] != p {
			t.Errorf("line %d = %q, want prefix %q", i, got[i], p)
		}
	}
}

// TestCompareRandom: random images are identical to themselves and each
// of their layers differs from another random image's.
func TestCompareRandom(t *testing.T) {
	a, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Compare(context.Background(), a, a)
	if err != nil || !r.Identical || len(r.Differences) != 0 {
		t.Fatalf("Compare(a, a) = %+v, %v; want identical", r, err)
	}
	r, err = Compare(context.Background(), a, b)
	if err != nil {
		t.Fatal(err)
	}
	layers := map[int]bool{}
	for _, d := range r.Differences {
		if d.Layer != nil {
			layers[*d.Layer] = true
		}
	}
	if r.Identical || !layers[0] || !layers[1] {
		t.Errorf("Compare(a, b) = %v, want differences in layers 0 and 1", r.Differences)
	}
}

// TestCompareCorruptLayer: a layer that is not a tar is an error naming
// the layer and the image, never a report or a panic.
func TestCompareCorruptLayer(t *testing.T) {
	bad := bytes.Repeat([]byte("not a tar header "), 64)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(bad)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	good := build(t, spec{layers: [][]file{baseFiles()}, level: gzip.BestSpeed})
	for _, tc := range []struct {
		a, b v1.Image
		want string
	}{
		{img, good, "layer 0: image A: "},
		{good, img, "layer 0: image B: "},
	} {
		_, err := Compare(context.Background(), tc.a, tc.b)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Compare = %v, want an error starting %q", err, tc.want)
		}
	}
}

// spaced is an image whose manifest has a trailing newline: the same
// fields in other bytes.
type spaced struct{ v1.Image }

func (s spaced) RawManifest() ([]byte, error) {
	b, err := s.Image.RawManifest()
	return append(b, '\n'), err
}

func (s spaced) Digest() (v1.Hash, error) {
	b, _ := s.RawManifest()
	h, _, err := v1.SHA256(bytes.NewReader(b))
	return h, err
}

// TestCompareRaw: the same fields in other bytes are still a difference.
func TestCompareRaw(t *testing.T) {
	a := build(t, baseSpec())
	r, err := Compare(context.Background(), a, spaced{a})
	if err != nil {
		t.Fatal(err)
	}
	if r.Identical || len(r.Differences) != 1 || r.Differences[0].Path != "(raw JSON)" || r.Differences[0].Scope != "manifest" {
		t.Errorf("Compare = %v, want one manifest (raw JSON) difference", r.Differences)
	}
}
