package snapshot

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzApply: any layer bytes extract into a temp dir or fail, never panic
// and never create or change anything outside it. The target sits beside
// a sentinel dir that every entry could aim at.
func FuzzApply(f *testing.F) {
	seed := func(hs ...*tar.Header) []byte {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, h := range hs {
			tw.WriteHeader(h)
			if h.Typeflag == tar.TypeReg {
				tw.Write(make([]byte, h.Size))
			}
		}
		tw.Close()
		return b.Bytes()
	}
	reg := func(n string) *tar.Header { return &tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: 1} }
	lnk := func(n, to string) *tar.Header { return &tar.Header{Name: n, Typeflag: tar.TypeSymlink, Linkname: to} }
	f.Add(seed(reg("a"), reg("d/b")))
	f.Add(seed(reg("../sentinel/x")))
	f.Add(seed(lnk("l", "../sentinel"), reg("l/x")))
	f.Add(seed(lnk("l", "/"), reg("l/x"), reg("l/.wh.x")))
	f.Add(seed(reg(".wh..wh..opq"), reg("d/.wh..wh..opq"), reg(".wh..")))
	f.Add(seed(&tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../sentinel/s"}))
	f.Add(seed(&tar.Header{Name: "c", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}))
	f.Fuzz(func(t *testing.T, layer []byte) {
		base := t.TempDir()
		sent := filepath.Join(base, "sentinel")
		if err := os.MkdirAll(sent, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sent, "s"), []byte("s"), 0o644); err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(base, "target")
		if err := os.Mkdir(target, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = Apply(context.Background(), target, bytes.NewReader(layer))
		ents, err := os.ReadDir(base)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.Name() != "sentinel" && e.Name() != "target" {
				t.Fatalf("wrote %s outside the target", e.Name())
			}
		}
		got, _ := os.ReadDir(sent)
		if len(got) != 1 || got[0].Name() != "s" {
			t.Fatalf("sentinel dir changed: %v", got)
		}
		if b, _ := os.ReadFile(filepath.Join(sent, "s")); string(b) != "s" {
			t.Fatalf("sentinel file changed: %q", b)
		}
		if fi, err := os.Lstat(target); err != nil || !fi.IsDir() {
			t.Fatalf("target replaced: %v", err)
		}
	})
}
