package hardening

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// descriptorImage is one image's blobs and the JSON of its manifest and
// index, as maps a case edits before they are written.
type descriptorImage struct {
	layer, config []byte
	manifest      map[string]any
	index         map[string]any
}

func newDescriptorImage(t *testing.T) *descriptorImage {
	layer := layerTar(t, file("a", "x"))
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{sha(layer)}}})
	man := map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg), "size": len(cfg)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(layer), "size": len(layer)}}}
	return &descriptorImage{layer: layer, config: cfg, manifest: man, index: map[string]any{"schemaVersion": 2}}
}

func (d *descriptorImage) layerDesc() map[string]any {
	return d.manifest["layers"].([]any)[0].(map[string]any)
}
func (d *descriptorImage) configDesc() map[string]any {
	return d.manifest["config"].(map[string]any)
}

// archive writes an OCI layout tar; editIndex may change the index's one
// manifest descriptor after it is filled in.
func (d *descriptorImage) archive(t *testing.T, editIndex func(map[string]any)) []byte {
	man, _ := json.Marshal(d.manifest)
	desc := map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(man), "size": len(man),
		"annotations": map[string]string{"io.containerd.image.name": "bad:1"}}
	if editIndex != nil {
		editIndex(desc)
	}
	d.index["manifests"] = []any{desc}
	idx, _ := json.Marshal(d.index)
	blob := func(b []byte) string { return "blobs/sha256/" + strings.TrimPrefix(sha(b), "sha256:") }
	return tarFiles(t, map[string][]byte{
		"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`), "index.json": idx,
		blob(d.layer): d.layer, blob(d.config): d.config, blob(man): man,
	})
}

var descriptorCases = []struct {
	name, want string
	edit       func(d *descriptorImage)
	editIndex  func(map[string]any)
}{
	{"negative-layer-size", "negative size", func(d *descriptorImage) { d.layerDesc()["size"] = -1 }, nil},
	{"negative-config-size", "negative size", func(d *descriptorImage) { d.configDesc()["size"] = -1 }, nil},
	{"config-type-as-layer", "does not belong", func(d *descriptorImage) {
		d.layerDesc()["mediaType"] = "application/vnd.oci.image.config.v1+json"
	}, nil},
	{"layer-type-as-config", "does not belong", func(d *descriptorImage) {
		d.configDesc()["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
	}, nil},
	{"layer-without-digest", "invalid digest", func(d *descriptorImage) { delete(d.layerDesc(), "digest") }, nil},
	{"negative-index-size", "negative size", nil, func(m map[string]any) { m["size"] = -5 }},
}

// TestHostileDescriptors: lade load refuses a manifest or index whose
// descriptors lie about size, digest or media type, and stores nothing.
func TestHostileDescriptors(t *testing.T) {
	needLade(t)
	for _, tc := range descriptorCases {
		t.Run(tc.name, func(t *testing.T) {
			root := newRoot(t)
			d := newDescriptorImage(t)
			if tc.edit != nil {
				tc.edit(d)
			}
			f := writeTemp(t, "bad.tar", d.archive(t, tc.editIndex))
			wantFail(t, lade(t, root, nil, "load", "-i", f), tc.want)
			if out := lade(t, root, nil, "images"); strings.Contains(out.stdout, "bad ") {
				t.Errorf("the image was stored:\n%s", out.stdout)
			}
			checkStore(t, root)
		})
	}
}

// TestPullHostileDescriptors: the same manifests served by a registry are
// refused before any blob is fetched.
func TestPullHostileDescriptors(t *testing.T) {
	needLade(t)
	host := testutil.Registry(t, nil)
	send := func(t *testing.T, method, path, ctype string, body []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+host+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %s", method, path, resp.Status)
		}
	}
	for _, tc := range descriptorCases {
		if tc.edit == nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			root := newRoot(t)
			d := newDescriptorImage(t)
			tc.edit(d)
			for _, b := range [][]byte{d.layer, d.config} {
				send(t, http.MethodPost, "/v2/bad/blobs/uploads/?digest="+sha(b), "application/octet-stream", b)
			}
			man, _ := json.Marshal(d.manifest)
			send(t, http.MethodPut, "/v2/bad/manifests/"+tc.name, "application/vnd.oci.image.manifest.v1+json", man)
			wantFail(t, lade(t, root, nil, "pull", host+"/bad:"+tc.name), tc.want)
			checkStore(t, root)
		})
	}
}
