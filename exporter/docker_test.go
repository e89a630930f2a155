package exporter

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/lade-build/lade/internal/testutil"
)

func TestWriteDocker(t *testing.T) {
	for _, tc := range imageCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			buf := exportTwice(t, WriteDocker, tc.img, tc.names)
			hdrs, files := readTar(t, buf)
			extra := []string{"manifest.json"}
			if len(tc.names) > 0 {
				extra = append(extra, "repositories")
			}
			if diff := cmp.Diff(wantEntries(t, tc.img, extra...), checkHeaders(t, hdrs)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			checkDockerManifest(t, files, tc)

			// Modern docker save archives are OCI layouts too.
			dir := t.TempDir()
			extractTar(t, buf, dir)
			checkLayout(t, dir, tc.img, tc.wantRefs)

			path := filepath.Join(t.TempDir(), "image.tar")
			if err := os.WriteFile(path, buf, 0o644); err != nil {
				t.Fatal(err)
			}
			var tags []*name.Tag
			for _, n := range tc.names {
				tag, err := name.NewTag(n)
				if err != nil {
					t.Fatal(err)
				}
				tags = append(tags, &tag)
			}
			if len(tags) == 0 {
				tags = []*name.Tag{nil}
			}
			for _, tag := range tags {
				got, err := tarball.ImageFromPath(path, tag)
				if err != nil {
					t.Fatalf("tarball.ImageFromPath(%v): %v", tag, err)
				}
				checkSameContent(t, tc.img, got)
			}
		})
	}
}

func checkDockerManifest(t *testing.T, files map[string][]byte, tc imageCase) {
	t.Helper()
	var got []dockerManifestEntry
	if err := json.Unmarshal(files["manifest.json"], &got); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	m, err := tc.img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	want := dockerManifestEntry{Config: "blobs/sha256/" + m.Config.Digest.Hex, RepoTags: []string{}}
	for _, l := range m.Layers {
		want.Layers = append(want.Layers, "blobs/sha256/"+l.Digest.Hex)
	}
	for _, r := range tc.wantRefs {
		n, err := parseName(r[0])
		if err != nil {
			t.Fatal(err)
		}
		want.RepoTags = append(want.RepoTags, n.familiar)
	}
	if diff := cmp.Diff([]dockerManifestEntry{want}, got); diff != "" {
		t.Errorf("manifest.json (-want +got):\n%s", diff)
	}
}

func checkSameContent(t *testing.T, want, got v1.Image) {
	t.Helper()
	if err := validate.Image(got); err != nil {
		t.Errorf("validate.Image: %v", err)
	}
	if gotCfg, wantCfg := testutil.ImageID(t, got), testutil.ImageID(t, want); gotCfg != wantCfg {
		t.Errorf("config digest %s, want %s", gotCfg, wantCfg)
	}
	diffIDs := func(img v1.Image) []v1.Hash {
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		var out []v1.Hash
		for _, l := range ls {
			d, err := l.DiffID()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
		return out
	}
	if diff := cmp.Diff(diffIDs(want), diffIDs(got)); diff != "" {
		t.Errorf("layer diffIDs (-want +got):\n%s", diff)
	}
}

func TestWriteDockerRepositories(t *testing.T) {
	l := layerFromEntries(t, []tarEntry{{name: "a", typeflag: tar.TypeReg, data: []byte("a")}})
	img := buildImage(t, nil, l)
	top, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteDocker(context.Background(), &buf, img, []string{"app", "app:v2", "127.0.0.1:5000/busybox"}); err != nil {
		t.Fatal(err)
	}
	_, files := readTar(t, buf.Bytes())
	var got map[string]map[string]string
	if err := json.Unmarshal(files["repositories"], &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"app":                    {"latest": top.Hex, "v2": top.Hex},
		"127.0.0.1:5000/busybox": {"latest": top.Hex},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("repositories (-want +got):\n%s", diff)
	}
}
