package exporter

import (
	"bytes"
	"context"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// WriteOCIIndex writes a layout whose index.json names the image index
// (once per name), which lists each image with its platform; every blob
// is there once and the layout validates.
func TestWriteOCIIndex(t *testing.T) {
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(512, 2)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf.OS, cf.Architecture = "linux", arch
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	want, _ := idx.Digest()
	tests := []struct {
		names []string
		refs  []string
	}{
		{nil, []string{""}},
		{[]string{"app:v1", "reg.example/x/y"}, []string{"v1", "latest"}},
	}
	for _, tc := range tests {
		var buf, again bytes.Buffer
		for _, b := range []*bytes.Buffer{&buf, &again} {
			if err := WriteOCIIndex(context.Background(), b, idx, tc.names); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(buf.Bytes(), again.Bytes()) {
			t.Error("two exports of the same index differ")
		}
		dir := t.TempDir()
		extractTar(t, buf.Bytes(), dir)
		top, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		im, err := top.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != len(tc.refs) {
			t.Fatalf("names %v: index.json has %d entries, want %d", tc.names, len(im.Manifests), len(tc.refs))
		}
		for i, m := range im.Manifests {
			if m.Digest != want || !m.MediaType.IsIndex() || m.Annotations[annotationRefName] != tc.refs[i] {
				t.Errorf("names %v: entry %d = %+v, want index %s with ref %q", tc.names, i, m, want, tc.refs[i])
			}
		}
		got, err := top.ImageIndex(want)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Index(got); err != nil {
			t.Errorf("names %v: %v", tc.names, err)
		}
		gm, _ := got.IndexManifest()
		for i, m := range gm.Manifests {
			if m.Platform == nil || m.Platform.Architecture != []string{"amd64", "arm64"}[i] {
				t.Errorf("index entry %d platform = %v", i, m.Platform)
			}
		}
	}
}
