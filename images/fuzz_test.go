package images

import (
	"archive/tar"
	"bytes"
	"context"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// FuzzLoadMetadata: hostile manifest.json, index.json and config bytes in
// an archive load or fail with an error, never panic, and whatever loads
// can be read back whole from the store.
func FuzzLoadMetadata(f *testing.F) {
	cfg := `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`
	f.Add([]byte(`[{"Config":"c.json","RepoTags":["a:1"],"Layers":[]}]`), []byte(cfg), []byte(""))
	f.Add([]byte(`[{"Config":"../../c.json","Layers":["x","y"]}]`), []byte(cfg), []byte(""))
	f.Add([]byte(`[{"Config":"c.json","RepoTags":["Bad Name"]}]`), []byte(`{"rootfs":{"diff_ids":["sha256:zz"]}}`), []byte(""))
	f.Add([]byte(""), []byte(cfg), []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":-1}]}`))
	f.Add([]byte(""), []byte(""), []byte(`{"manifests":[{"digest":"sha256:../../x"}]}`))
	f.Fuzz(func(t *testing.T, manifest, config, index []byte) {
		for _, b := range [][]byte{manifest, config, index} {
			v1.ParseManifest(bytes.NewReader(b))
			v1.ParseConfigFile(bytes.NewReader(b))
			v1.ParseIndexManifest(bytes.NewReader(b))
		}
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		add := func(name string, b []byte) {
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b))})
			tw.Write(b)
		}
		if len(manifest) > 0 {
			add("manifest.json", manifest)
		}
		add("c.json", config)
		if len(index) > 0 {
			add("index.json", index)
			add("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
			add("blobs/sha256/"+digestOf(config).Hex, config)
		}
		tw.Close()
		s, _ := newStore(t)
		loaded, err := s.Load(context.Background(), &buf)
		if err != nil {
			return
		}
		for _, l := range loaded {
			img, err := s.Get(context.Background(), l.Digest.String())
			if err != nil {
				t.Fatalf("loaded %s but cannot get it: %v", l.Digest, err)
			}
			if _, err := img.ConfigFile(); err != nil {
				t.Fatalf("loaded %s with an unreadable config: %v", l.Digest, err)
			}
		}
	})
}
