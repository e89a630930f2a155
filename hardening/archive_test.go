package hardening

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gzipBomb is a gzip layer of about 10 MB that expands to a tar holding
// one 10 GiB file of zeros: one compressed 100 MiB member, repeated.
func gzipBomb(t *testing.T) []byte {
	t.Helper()
	const chunk, n = 100 << 20, 103
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	if err := tw.WriteHeader(&tar.Header{Name: "bomb", Typeflag: tar.TypeReg, Mode: 0o644, Size: chunk * n}); err != nil {
		t.Fatal(err)
	}
	member := func(b []byte) []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	out := member(hdr.Bytes())
	zeros := member(make([]byte, chunk))
	for range n {
		out = append(out, zeros...)
	}
	return out
}

// ociArchive writes an OCI layout tar of one image tagged name whose
// layers are given as (media type, blob); diffIDs are claimed as given.
func ociArchive(t *testing.T, name string, blobs map[string][]byte, layers []ociLayer) []byte {
	t.Helper()
	files := map[string][]byte{"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`)}
	var diffIDs []string
	var descs []map[string]any
	for _, l := range layers {
		d := l.digest
		if d == "" {
			d = sha(l.blob)
		}
		files["blobs/sha256/"+strings.TrimPrefix(d, "sha256:")] = l.blob
		diffIDs = append(diffIDs, l.diffID)
		descs = append(descs, map[string]any{"mediaType": l.mediaType, "digest": d, "size": len(l.blob)})
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Cmd": []string{"/bin/sh"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg), "size": len(cfg)},
		"layers": descs})
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []map[string]any{{
		"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(man), "size": len(man),
		"annotations": map[string]string{"io.containerd.image.name": name}}}})
	files["blobs/sha256/"+strings.TrimPrefix(sha(cfg), "sha256:")] = cfg
	files["blobs/sha256/"+strings.TrimPrefix(sha(man), "sha256:")] = man
	files["index.json"] = idx
	for k, v := range blobs {
		files[k] = v
	}
	return tarFiles(t, files)
}

type ociLayer struct {
	mediaType, diffID, digest string
	blob                      []byte
}

func plainOCILayer(b []byte) ociLayer {
	return ociLayer{mediaType: "application/vnd.oci.image.layer.v1.tar", diffID: sha(b), blob: b}
}

// dirSize sums the sizes of the files below dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// TestGzipBomb: a 10 MB gzip that expands to 10 GiB is stopped by the
// uncompressed size cap, at load (docker archive, diffID checked) and at
// unpack (OCI layout, which stores blobs by compressed digest only).
func TestGzipBomb(t *testing.T) {
	needLade(t)
	bomb := gzipBomb(t)
	fake := sha([]byte("never computed"))
	env := []string{"LADE_MAX_LAYER_SIZE=67108864"}
	cases := []struct {
		name, want string
		arch       []byte
		build      bool
	}{
		{name: "docker-load", want: "exceeds the size limit",
			arch: dockerArchive(t, "bomb:1", archLayer{data: busyboxLayer(t)}, archLayer{data: bomb, diffID: fake})},
		{name: "oci-build", want: "exceeds the size limit", build: true,
			arch: ociArchive(t, "bomb:2", nil, []ociLayer{plainOCILayer(busyboxLayer(t)),
				{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", diffID: fake, blob: bomb}})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := sentinel(t)
			root := newRoot(t)
			arch := writeTemp(t, "bomb.tar", c.arch)
			ctxDir := writeTree(t, map[string]string{"Dockerfile": "FROM bomb:2\nRUN true\n"})
			before := snap(t, s)
			r := lade(t, root, env, "load", "-i", arch)
			if c.build {
				wantOK(t, r)
				r = lade(t, root, env, "build", "-t", "out", ctxDir)
			}
			wantFail(t, r, c.want)
			if n := dirSize(root); n > 256<<20 {
				t.Errorf("root holds %d bytes after the bomb", n)
			}
			sameTree(t, before, snap(t, s), nil)
			checkStore(t, root)
		})
	}
}

// TestHostileArchives: archives whose metadata or blobs lie are refused
// with a clear error, tag nothing and write nothing outside the store.
func TestHostileArchives(t *testing.T) {
	needLade(t)
	good := layerTar(t, file("a", "x"))
	cases := []struct {
		name, want string
		arch       func(s string) []byte
	}{
		{"blob-digest-mismatch", "digest", func(s string) []byte {
			l := plainOCILayer(good)
			l.digest = sha([]byte("something else"))
			return ociArchive(t, "bad:1", nil, []ociLayer{l})
		}},
		{"diffid-mismatch", "config says", func(s string) []byte {
			return dockerArchive(t, "bad:1", archLayer{data: good, diffID: sha([]byte("x"))})
		}},
		{"config-missing-layers", "diff ids", func(s string) []byte {
			return dockerArchiveEdit(t, "bad:1", func(m map[string]any) { m["Layers"] = []string{"layer0.tar", "layer0.tar"} }, archLayer{data: good})
		}},
		{"escaping-member-names", "neither manifest.json", func(s string) []byte {
			return tarFiles(t, map[string][]byte{"../../../../" + s + "/pwned": []byte("x"), "/etc/lade-hardening-pwned": []byte("x")})
		}},
		{"layer-path-escape", "no such file", func(s string) []byte {
			return dockerArchiveEdit(t, "bad:1", func(m map[string]any) { m["Layers"] = []string{"../../../../" + s + "/secret"} }, archLayer{data: good})
		}},
		{"manifest-symlink", "neither manifest.json", func(s string) []byte {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			tw.WriteHeader(&tar.Header{Name: "manifest.json", Typeflag: tar.TypeSymlink, Linkname: s + "/secret"})
			tw.Close()
			return buf.Bytes()
		}},
		{"truncated-archive", "unexpected EOF", func(s string) []byte {
			b := dockerArchive(t, "bad:1", archLayer{data: good})
			return b[:700]
		}},
		{"trailing-garbage", "", func(s string) []byte {
			return append(dockerArchive(t, "ok:1", archLayer{data: good}), bytes.Repeat([]byte{0xa5}, 5000)...)
		}},
		{"manifest-not-json", "parsing manifest.json", func(s string) []byte {
			return tarFiles(t, map[string][]byte{"manifest.json": []byte("[{")})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := sentinel(t)
			root := newRoot(t)
			arch := writeTemp(t, "a.tar", c.arch(s))
			before, rootBefore := snap(t, s), snap(t, root)
			r := lade(t, root, nil, "load", "-i", arch)
			if c.want == "" {
				wantOK(t, r)
			} else {
				wantFail(t, r, c.want)
				sameTree(t, rootBefore, snap(t, root), storeAllowed(root))
			}
			sameTree(t, before, snap(t, s), nil)
			checkCanaries(t)
			checkStore(t, root)
		})
	}
}
