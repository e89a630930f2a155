package imagediff

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// maxEntries bounds the entries indexed from one layer, so a hostile
// image cannot grow the index without end (metadata only: about 200
// bytes an entry).
const maxEntries = 2_000_000

func diffLayers(ctx context.Context, a, b v1.Image) ([]Difference, error) {
	la, lb, err := both(a, b, "layers", v1.Image.Layers)
	if err != nil {
		return nil, err
	}
	var out []Difference
	for i := 0; i < max(len(la), len(lb)); i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		idx := i
		d := Difference{Scope: "layer", Layer: &idx, Field: FieldPresence, A: absent, B: absent}
		switch {
		case i >= len(la):
			d.B = digestOf(lb[i].Digest)
			out = append(out, d)
		case i >= len(lb):
			d.A = digestOf(la[i].Digest)
			out = append(out, d)
		default:
			ds, err := diffLayer(ctx, la[i], lb[i])
			if err != nil {
				return nil, fmt.Errorf("layer %d: %w", i, err)
			}
			for j := range ds {
				ds[j].Scope, ds[j].Layer = "layer", &idx
			}
			out = append(out, ds...)
		}
	}
	return out, nil
}

func digestOf(f func() (v1.Hash, error)) string {
	h, err := f()
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return h.String()
}

// diffLayer compares two layers at the same index.
func diffLayer(ctx context.Context, a, b v1.Layer) ([]Difference, error) {
	da, db := digestOf(a.Digest), digestOf(b.Digest)
	if da == db {
		return nil, nil
	}
	ia, ib := digestOf(a.DiffID), digestOf(b.DiffID)
	if ia == ib {
		return []Difference{{Field: FieldCompressed, A: da, B: db}}, nil
	}
	ta, err := readIndex(ctx, a)
	if err != nil {
		return nil, fmt.Errorf("image A: %w", err)
	}
	tb, err := readIndex(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("image B: %w", err)
	}
	if out := diffIndexes(ta, tb); len(out) > 0 {
		return out, nil
	}
	if !slices.Equal(ta.order, tb.order) {
		return []Difference{{Field: FieldOrder, A: ia, B: ib}}, nil
	}
	return []Difference{{Field: FieldEncoding, A: ia, B: ib}}, nil
}

// entry is what is compared of one tar entry; content is the sha256 of
// a regular file's data.
type entry struct {
	hdr     *tar.Header
	content string
}

// index is one layer's entries by cleaned path, and their order.
type index struct {
	entries map[string]entry
	order   []string
}

func readIndex(ctx context.Context, l v1.Layer) (*index, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	ix := &index{entries: map[string]entry{}}
	err = eachEntry(ctx, tar.NewReader(rc), func(name string, e entry) error {
		ix.entries[name] = e // a later entry for a path replaces it, as on extraction
		ix.order = append(ix.order, name)
		return nil
	})
	return ix, err
}

// diffIndexes lists the paths in one layer only and the fields that
// differ for paths in both.
func diffIndexes(a, b *index) []Difference {
	var out []Difference
	for name, eb := range b.entries {
		ea, ok := a.entries[name]
		if !ok {
			out = append(out, Difference{Path: name, Field: FieldPresence, A: absent, B: "present"})
			continue
		}
		out = append(out, diffEntry(name, ea, eb)...)
	}
	for name := range a.entries {
		if _, ok := b.entries[name]; !ok {
			out = append(out, Difference{Path: name, Field: FieldPresence, A: "present", B: absent})
		}
	}
	return out
}

// eachEntry reads every entry of tr, hashing regular files' data.
func eachEntry(ctx context.Context, tr *tar.Reader, fn func(string, entry) error) error {
	for n := 0; ; n++ {
		if n >= maxEntries {
			return fmt.Errorf("more than %d tar entries", maxEntries)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading layer tar: %w", err)
		}
		e := entry{hdr: hdr}
		if hdr.Typeflag == tar.TypeReg {
			h := sha256.New()
			if _, err := io.Copy(h, tr); err != nil {
				return fmt.Errorf("reading %s: %w", hdr.Name, err)
			}
			e.content = "sha256:" + hex.EncodeToString(h.Sum(nil))
		}
		if err := fn(cleanName(hdr.Name), e); err != nil {
			return err
		}
	}
}

// cleanName is a tar entry's path from "/": "./a/" and "a" are "/a".
func cleanName(name string) string { return path.Clean("/" + name) }

// field is one compared property of an entry, in readable form.
type field struct {
	name string
	get  func(e entry) string
}

var fields = []field{
	{"type", func(e entry) string { return typeName(e.hdr.Typeflag) }},
	{"content", func(e entry) string { return e.content }},
	{"size", func(e entry) string { return strconv.FormatInt(e.hdr.Size, 10) }},
	{"mode", func(e entry) string { return fmt.Sprintf("%04o", e.hdr.Mode) }},
	{"uid", func(e entry) string { return strconv.Itoa(e.hdr.Uid) }},
	{"gid", func(e entry) string { return strconv.Itoa(e.hdr.Gid) }},
	{"uname", func(e entry) string { return e.hdr.Uname }},
	{"gname", func(e entry) string { return e.hdr.Gname }},
	{"mtime", func(e entry) string { return e.hdr.ModTime.UTC().Format(time.RFC3339Nano) }},
	{"link target", func(e entry) string { return linkOf(e, tar.TypeSymlink) }},
	{"hardlink target", func(e entry) string { return linkOf(e, tar.TypeLink) }},
	{"device", func(e entry) string { return fmt.Sprintf("%d:%d", e.hdr.Devmajor, e.hdr.Devminor) }},
}

func linkOf(e entry, typ byte) string {
	if e.hdr.Typeflag != typ {
		return ""
	}
	if typ == tar.TypeLink {
		return cleanName(e.hdr.Linkname) // a hardlink names an entry of the layer
	}
	return e.hdr.Linkname
}

// diffEntry lists the fields of one path that differ. Size is left out
// when the content differs (the digests say more); PAX records (xattrs
// as SCHILY.xattr.NAME, atime, ctime, others) are compared one by one.
func diffEntry(name string, a, b entry) []Difference {
	var out []Difference
	for _, f := range fields {
		va, vb := f.get(a), f.get(b)
		if va == vb || (f.name == "size" && a.content != b.content) {
			continue
		}
		out = append(out, Difference{Path: name, Field: f.name, A: orNone(va), B: orNone(vb)})
	}
	pa, pb := paxRecords(a.hdr), paxRecords(b.hdr)
	keys := map[string]bool{}
	for k := range pa {
		keys[k] = true
	}
	for k := range pb {
		keys[k] = true
	}
	for k := range keys {
		va, okA := pa[k]
		vb, okB := pb[k]
		if va == vb && okA == okB {
			continue
		}
		f := "pax " + k
		if x, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			f = "xattr " + x
		}
		out = append(out, Difference{Path: name, Field: f, A: quoteOrNone(va, okA), B: quoteOrNone(vb, okB)})
	}
	return out
}

// paxRecords are hdr's PAX records other than those the header fields
// compared already carry.
func paxRecords(hdr *tar.Header) map[string]string {
	m := map[string]string{}
	for k, v := range hdr.PAXRecords {
		switch k {
		case "path", "linkpath", "size", "uid", "gid", "uname", "gname", "mtime":
		default:
			m[k] = v
		}
	}
	return m
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func quoteOrNone(s string, ok bool) string {
	if !ok {
		return "(none)"
	}
	return strconv.Quote(s)
}

func typeName(t byte) string {
	switch t {
	case tar.TypeReg, tar.TypeRegA:
		return "file"
	case tar.TypeLink:
		return "hardlink"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeChar:
		return "char device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeDir:
		return "dir"
	case tar.TypeFifo:
		return "fifo"
	}
	return fmt.Sprintf("type %q", t)
}
