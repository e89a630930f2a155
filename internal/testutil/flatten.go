package testutil

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"testing"
)

// Entry is one path of a flattened image: "file 0644 0:0 <content>",
// "dir 0755 1000:1000", "symlink -> target" and so on.
type Entry struct {
	Type    string // file, dir, symlink, hardlink, other
	Mode    int64
	UID     int
	GID     int
	Content string // file content, or the link target
}

func (e Entry) String() string {
	switch e.Type {
	case "symlink":
		return fmt.Sprintf("symlink -> %s", e.Content)
	case "dir":
		return fmt.Sprintf("dir %04o %d:%d", e.Mode, e.UID, e.GID)
	case "file":
		c := e.Content
		if len(c) > 200 {
			sum := sha256.Sum256([]byte(c))
			c = "sha256:" + hex.EncodeToString(sum[:8])
		}
		return fmt.Sprintf("file %04o %d:%d %q", e.Mode, e.UID, e.GID, c)
	}
	return fmt.Sprintf("%s %04o %d:%d", e.Type, e.Mode, e.UID, e.GID)
}

// Image is an image archive read back: its config JSON and its final tree.
type Image struct {
	Config       map[string]any // the whole config file
	ManifestRaw  []byte
	Layers       [][]byte         // compressed layer blobs
	Tree         map[string]Entry // absolute paths
	History      []map[string]any
	ManifestDesc map[string]any // the index.json descriptor
}

// ImageConfig returns config.config (the runtime config).
func (im *Image) ImageConfig() map[string]any {
	c, _ := im.Config["config"].(map[string]any)
	return c
}

// ReadOCITar reads an OCI layout tar (or a docker-save tar) and flattens it.
func ReadOCITar(t testing.TB, file string) *Image {
	t.Helper()
	f, err := os.Open(file)
	must(t, err)
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			must(t, err)
			files[strings.TrimPrefix(h.Name, "./")] = b
		}
	}
	blob := func(d string) []byte {
		b, ok := files["blobs/"+strings.Replace(d, ":", "/", 1)]
		if !ok {
			t.Fatalf("blob %s missing from %s", d, file)
		}
		return b
	}
	im := &Image{Tree: map[string]Entry{}}
	var layerBlobs [][]byte
	if idx, ok := files["index.json"]; ok && files["manifest.json"] == nil {
		var index struct {
			Manifests []map[string]any `json:"manifests"`
		}
		must(t, json.Unmarshal(idx, &index))
		if len(index.Manifests) == 0 {
			t.Fatalf("%s: empty index", file)
		}
		im.ManifestDesc = index.Manifests[0]
		im.ManifestRaw = blob(index.Manifests[0]["digest"].(string))
		var m struct {
			Config struct{ Digest string }   `json:"config"`
			Layers []struct{ Digest string } `json:"layers"`
		}
		must(t, json.Unmarshal(im.ManifestRaw, &m))
		must(t, json.Unmarshal(blob(m.Config.Digest), &im.Config))
		for _, l := range m.Layers {
			layerBlobs = append(layerBlobs, blob(l.Digest))
		}
	} else {
		var man []struct {
			Config string
			Layers []string
		}
		must(t, json.Unmarshal(files["manifest.json"], &man))
		must(t, json.Unmarshal(files[man[0].Config], &im.Config))
		for _, l := range man[0].Layers {
			layerBlobs = append(layerBlobs, files[l])
		}
	}
	im.Layers = layerBlobs
	if h, ok := im.Config["history"].([]any); ok {
		for _, e := range h {
			im.History = append(im.History, e.(map[string]any))
		}
	}
	for _, l := range layerBlobs {
		applyLayer(t, im.Tree, l)
	}
	return im
}

func applyLayer(t testing.TB, tree map[string]Entry, blob []byte) {
	t.Helper()
	var r io.Reader = bytes.NewReader(blob)
	if len(blob) > 2 && blob[0] == 0x1f && blob[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		must(t, err)
		r = zr
	}
	tr := tar.NewReader(r)
	removeTree := func(p string) {
		for k := range tree {
			if k == p || strings.HasPrefix(k, p+"/") {
				delete(tree, k)
			}
		}
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		must(t, err)
		p := path.Clean("/" + h.Name)
		dir, base := path.Split(p)
		dir = path.Clean(dir)
		if base == ".wh..wh..opq" {
			for k := range tree {
				if strings.HasPrefix(k, strings.TrimSuffix(dir, "/")+"/") {
					delete(tree, k)
				}
			}
			continue
		}
		if strings.HasPrefix(base, ".wh.") {
			removeTree(path.Join(dir, strings.TrimPrefix(base, ".wh.")))
			continue
		}
		if old, ok := tree[p]; ok && (old.Type != "dir" || h.Typeflag != tar.TypeDir) {
			removeTree(p)
		}
		e := Entry{Mode: h.Mode & 0o7777, UID: h.Uid, GID: h.Gid}
		switch h.Typeflag {
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			must(t, err)
			e.Type, e.Content = "file", string(b)
		case tar.TypeDir:
			e.Type = "dir"
		case tar.TypeSymlink:
			e.Type, e.Content, e.Mode = "symlink", h.Linkname, 0
		case tar.TypeLink:
			target := tree[path.Clean("/"+h.Linkname)]
			e = target
		default:
			e.Type = "other"
		}
		tree[p] = e
	}
}
