package hardening

import (
	"encoding/json"
	"strings"
	"testing"
)

// layoutIndex is an OCI archive whose index.json names top, an index
// kept in files with the rest of the blobs.
type layoutIndex struct {
	files map[string][]byte
}

func newLayoutIndex() *layoutIndex {
	return &layoutIndex{files: map[string][]byte{"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`)}}
}

// blob stores b and returns its descriptor with media type mt.
func (l *layoutIndex) blob(mt string, b []byte) map[string]any {
	l.files["blobs/sha256/"+strings.TrimPrefix(sha(b), "sha256:")] = b
	return map[string]any{"mediaType": mt, "digest": sha(b), "size": len(b)}
}

// image stores a one-layer busybox image and returns its descriptor.
func (l *layoutIndex) image(t *testing.T) map[string]any {
	layer := busyboxLayer(t)
	ld := l.blob("application/vnd.oci.image.layer.v1.tar", layer)
	cfg, _ := json.Marshal(map[string]any{"architecture": "arm64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{sha(layer)}}})
	man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": l.blob("application/vnd.oci.image.config.v1+json", cfg), "layers": []any{ld}})
	d := l.blob("application/vnd.oci.image.manifest.v1+json", man)
	d["platform"] = map[string]string{"os": "linux", "architecture": "arm64"}
	return d
}

// index stores an index of entries and returns its descriptor.
func (l *layoutIndex) index(entries ...map[string]any) map[string]any {
	b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})
	return l.blob("application/vnd.oci.image.index.v1+json", b)
}

// archive names top as name:1 in index.json and tars the layout.
func (l *layoutIndex) archive(t *testing.T, top map[string]any) []byte {
	top["annotations"] = map[string]string{"io.containerd.image.name": "docker.io/library/hostile:1"}
	b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{top}})
	l.files["index.json"] = b
	return tarFiles(t, l.files)
}

// TestLoadHostileIndex: a multi-platform archive that is deeper than
// lade follows, lacks a platform's blob, or calls an index an image is
// refused with a clear error, and names nothing.
func TestLoadHostileIndex(t *testing.T) {
	needLade(t)
	cases := []struct {
		name, want string
		make       func(l *layoutIndex) map[string]any
	}{
		{"nested six deep", "nested more than", func(l *layoutIndex) map[string]any {
			d := l.index(l.image(t))
			for range 6 {
				d = l.index(d)
			}
			return d
		}},
		{"platform blob missing", "reading manifest", func(l *layoutIndex) map[string]any {
			absent := []byte(`{"schemaVersion":2}`)
			return l.index(l.image(t), map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json",
				"digest": sha(absent), "size": len(absent), "platform": map[string]string{"os": "linux", "architecture": "s390x"}})
		}},
		{"index called an image", "unsupported media type", func(l *layoutIndex) map[string]any {
			inner := l.index(l.image(t))
			inner["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
			return l.index(l.image(t), inner)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := newRoot(t)
			l := newLayoutIndex()
			arch := writeTemp(t, "hostile.tar", l.archive(t, c.make(l)))
			r := lade(t, root, nil, "load", "-i", arch)
			wantFail(t, r, c.want)
			if r := lade(t, root, nil, "images"); strings.Contains(r.stdout, "hostile") {
				t.Errorf("a refused archive named an image:\n%s", r.stdout)
			}
		})
	}
}
