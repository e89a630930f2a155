package exporter

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/lade-build/lade/internal/testutil"
)

type imageCase struct {
	name  string
	img   v1.Image
	names []string
	// wantRefs is the (image name, ref name) annotation pair per descriptor;
	// nil means one descriptor without annotations.
	wantRefs [][2]string
}

func imageCases(t *testing.T) []imageCase {
	t.Helper()
	rnd, err := random.Image(1024, 3)
	if err != nil {
		t.Fatal(err)
	}
	files := layerFromEntries(t, []tarEntry{
		{name: "etc/", typeflag: tar.TypeDir, mode: 0o755},
		{name: "etc/hello", typeflag: tar.TypeReg, mode: 0o644, data: []byte("hello\n")},
		{name: "etc/link", typeflag: tar.TypeSymlink, linkname: "hello"},
	})
	other := layerFromEntries(t, []tarEntry{
		{name: "data", typeflag: tar.TypeReg, mode: 0o600, data: bytes.Repeat([]byte("x"), 5000)},
	})
	built := buildImage(t, []string{"/bin/sh"}, files, other)
	// The same layer twice must be stored once.
	dup := buildImage(t, nil, files, files)
	return []imageCase{
		{name: "random unnamed", img: rnd},
		{name: "random named", img: rnd, names: []string{"app"},
			wantRefs: [][2]string{{"docker.io/library/app:latest", "latest"}}},
		{name: "built several names", img: built,
			names: []string{"app:v1", "127.0.0.1:5000/busybox", "docker.io/library/app:v1"},
			wantRefs: [][2]string{
				{"docker.io/library/app:v1", "v1"},
				{"127.0.0.1:5000/busybox:latest", "latest"},
			}},
		{name: "duplicate layer", img: dup, names: []string{"ghcr.io/x/y:z"},
			wantRefs: [][2]string{{"ghcr.io/x/y:z", "z"}}},
	}
}

// wantEntries lists the archive entries an OCI export of img must have.
func wantEntries(t *testing.T, img v1.Image, extra ...string) []string {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"blobs/", "blobs/sha256/", "blobs/sha256/" + testutil.ImageDigest(t, img).Hex, "blobs/sha256/" + m.Config.Digest.Hex}
	seen := map[string]bool{}
	for _, l := range m.Layers {
		p := "blobs/sha256/" + l.Digest.Hex
		if !seen[p] {
			seen[p] = true
			want = append(want, p)
		}
	}
	return append(append(want, "oci-layout", "index.json"), extra...)
}

func wantIndex(t *testing.T, img v1.Image, refs [][2]string) []v1.Descriptor {
	t.Helper()
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var platform *v1.Platform
	if cf.OS != "" || cf.Architecture != "" {
		platform = &v1.Platform{OS: cf.OS, Architecture: cf.Architecture}
	}
	d := v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: testutil.ImageDigest(t, img), Platform: platform}
	if refs == nil {
		return []v1.Descriptor{d}
	}
	var out []v1.Descriptor
	for _, r := range refs {
		c := d
		c.Annotations = map[string]string{annotationImageName: r[0], annotationRefName: r[1]}
		out = append(out, c)
	}
	return out
}

// checkHeaders verifies the archive's entries are normalized for determinism.
func checkHeaders(t *testing.T, hdrs []*tar.Header) []string {
	t.Helper()
	var names []string
	for _, h := range hdrs {
		names = append(names, h.Name)
		wantMode := int64(0o644)
		if h.Typeflag == tar.TypeDir {
			wantMode = 0o755
		}
		if h.Mode != wantMode || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(time.Unix(0, 0)) || len(h.PAXRecords) != 0 {
			t.Errorf("entry %s not normalized: mode %o uid %d gid %d uname %q gname %q mtime %v pax %v",
				h.Name, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime, h.PAXRecords)
		}
	}
	return names
}

func TestWriteOCI(t *testing.T) {
	for _, tc := range imageCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			buf := exportTwice(t, WriteOCI, tc.img, tc.names)
			hdrs, files := readTar(t, buf)
			if diff := cmp.Diff(wantEntries(t, tc.img), checkHeaders(t, hdrs)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			if got := string(files["oci-layout"]); got != `{"imageLayoutVersion":"1.0.0"}` {
				t.Errorf("oci-layout = %s", got)
			}

			dir := t.TempDir()
			extractTar(t, buf, dir)
			checkLayout(t, dir, tc.img, tc.wantRefs)
		})
	}
}

// checkLayout reads dir back as an OCI layout and checks it holds img.
func checkLayout(t *testing.T, dir string, img v1.Image, refs [][2]string) {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("reading layout: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.SchemaVersion != 2 || im.MediaType != types.OCIImageIndex {
		t.Errorf("index schemaVersion %d mediaType %q", im.SchemaVersion, im.MediaType)
	}
	if diff := cmp.Diff(wantIndex(t, img, refs), im.Manifests); diff != "" {
		t.Errorf("index manifests (-want +got):\n%s", diff)
	}
	got, err := idx.Image(testutil.ImageDigest(t, img))
	if err != nil {
		t.Fatalf("image from layout: %v", err)
	}
	if err := validate.Image(got); err != nil {
		t.Errorf("validate.Image: %v", err)
	}
	if d := testutil.ImageDigest(t, got); d != testutil.ImageDigest(t, img) {
		t.Errorf("manifest digest %s, want %s", d, testutil.ImageDigest(t, img))
	}
}

func TestWriteOCIAnnotationsJSON(t *testing.T) {
	img := buildImage(t, []string{"true"}, layerFromEntries(t, []tarEntry{{name: "a", typeflag: tar.TypeReg, data: []byte("a")}}))
	var buf bytes.Buffer
	if err := WriteOCI(context.Background(), &buf, img, []string{"app"}); err != nil {
		t.Fatal(err)
	}
	_, files := readTar(t, buf.Bytes())
	// Decode loosely so the test sees the literal keys other tools read.
	var idx struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Manifests     []struct {
			MediaType   string            `json:"mediaType"`
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
			Platform    map[string]string `json:"platform"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 {
		t.Fatalf("got %d manifests", len(idx.Manifests))
	}
	m := idx.Manifests[0]
	want := map[string]string{
		"io.containerd.image.name":          "docker.io/library/app:latest",
		"org.opencontainers.image.ref.name": "latest",
	}
	if diff := cmp.Diff(want, m.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"os": "linux", "architecture": "amd64"}, m.Platform); diff != "" {
		t.Errorf("platform (-want +got):\n%s", diff)
	}
	if idx.SchemaVersion != 2 || idx.MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("index header %d %q", idx.SchemaVersion, idx.MediaType)
	}
}

func TestWriteCancelled(t *testing.T) {
	img, err := random.Image(100, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	if err := WriteOCI(ctx, &buf, img, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("WriteOCI with cancelled context: %v, want context.Canceled", err)
	}
	if strings.Contains(buf.String(), "index.json") {
		t.Error("cancelled export still wrote index.json")
	}
}
