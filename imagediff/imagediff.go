package imagediff

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Difference is one way the two images differ. Scope is "manifest",
// "config" or "layer"; Layer is the layer's index (from 0, as in
// .RootFS.DiffIDs) for scope "layer". Path is a file in the layer (from
// "/") or a Go field path in the manifest or config; Field names what
// differs about a file ("content", "mode", ...), empty for a manifest or
// config field. A and B are the two images' values, in readable form.
type Difference struct {
	Scope string `json:"scope"`
	Layer *int   `json:"layer,omitempty"`
	Path  string `json:"path,omitempty"`
	Field string `json:"field,omitempty"`
	A     string `json:"a"`
	B     string `json:"b"`
}

// Field values for whole entries and whole layers.
const (
	// FieldPresence: the file or layer is in one image only; A or B is
	// "absent".
	FieldPresence = "presence"
	// FieldCompressed: the layers' blobs differ but their uncompressed
	// tars do not (compression is not deterministic).
	FieldCompressed = "compressed blob"
	// FieldOrder: the same entries, in another order.
	FieldOrder = "tar entry order"
	// FieldEncoding: the same entries in the same order, encoded
	// differently (header format, padding).
	FieldEncoding = "tar encoding"
)

// absent is the value of the side a file or layer is missing from.
const absent = "absent"

// String is the difference as one report line, e.g.
// "layer 2: /stamp: content differs (sha256:… vs sha256:…)" or
// "config: .Config.Env differs: [...] vs [...]".
func (d Difference) String() string {
	var b strings.Builder
	b.WriteString(d.Scope)
	if d.Layer != nil {
		fmt.Fprintf(&b, " %d", *d.Layer)
	}
	if d.Path != "" {
		b.WriteString(": " + d.Path)
	}
	switch {
	case d.Field == FieldPresence && d.A == absent:
		b.WriteString(": only in B")
		if d.B != "present" {
			b.WriteString(" (" + d.B + ")")
		}
	case d.Field == FieldPresence:
		b.WriteString(": only in A")
		if d.A != "present" {
			b.WriteString(" (" + d.A + ")")
		}
	case d.Field == "":
		fmt.Fprintf(&b, " differs: %s vs %s", d.A, d.B)
	default:
		fmt.Fprintf(&b, ": %s differs (%s vs %s)", d.Field, d.A, d.B)
	}
	return b.String()
}

// Report is the result of Compare.
type Report struct {
	A           string       `json:"a"` // manifest digests
	B           string       `json:"b"`
	Identical   bool         `json:"identical"`
	Differences []Difference `json:"differences"`
}

// Compare compares a with b: manifest, config, then layer by layer.
func Compare(ctx context.Context, a, b v1.Image) (*Report, error) {
	da, db, err := both(a, b, "manifest digest", v1.Image.Digest)
	if err != nil {
		return nil, err
	}
	r := &Report{A: da.String(), B: db.String(), Differences: []Difference{}}
	if da == db {
		r.Identical = true
		return r, nil
	}
	for _, step := range []func(context.Context, v1.Image, v1.Image) ([]Difference, error){
		diffManifests, diffConfigs, diffLayers,
	} {
		d, err := step(ctx, a, b)
		if err != nil {
			return nil, err
		}
		r.Differences = append(r.Differences, d...)
	}
	if len(r.Differences) == 0 {
		if r.Differences, err = diffRaw(a, b, da, db); err != nil {
			return nil, err
		}
	}
	sortDifferences(r.Differences)
	r.Identical = len(r.Differences) == 0
	return r, nil
}

// both calls get on a and b; an error names the image and what failed.
func both[T any](a, b v1.Image, what string, get func(v1.Image) (T, error)) (T, T, error) {
	va, err := get(a)
	if err != nil {
		return va, va, fmt.Errorf("image A: %s: %w", what, err)
	}
	vb, err := get(b)
	if err != nil {
		return va, vb, fmt.Errorf("image B: %s: %w", what, err)
	}
	return va, vb, nil
}

// sortDifferences orders by scope (manifest, config, layers), layer
// index, path, then field.
func sortDifferences(ds []Difference) {
	rank := map[string]int{"manifest": 0, "config": 1, "layer": 2}
	layer := func(d Difference) int {
		if d.Layer == nil {
			return -1
		}
		return *d.Layer
	}
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if rank[a.Scope] != rank[b.Scope] {
			return rank[a.Scope] < rank[b.Scope]
		}
		if layer(a) != layer(b) {
			return layer(a) < layer(b)
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Field < b.Field
	})
}

// jsonString is v as compact JSON, the readable form of a field's value.
func jsonString(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "RUN a > b && c" as written
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%v", v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
