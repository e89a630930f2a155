package exporter

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Annotation is one --annotation: KEY=VALUE for the image manifests, or
// as buildx writes it TYPE[,TYPE][PLATFORM]:KEY=VALUE, where TYPE is
// manifest or index and PLATFORM (os/arch[/variant]) limits a manifest
// annotation to that platform's image.
type Annotation struct {
	Manifest, Index bool
	Platform        *v1.Platform
	Key, Value      string
}

// ParseAnnotation reads one --annotation value.
func ParseAnnotation(s string) (Annotation, error) {
	a := Annotation{}
	kv := s
	if head, rest, ok := strings.Cut(s, ":"); ok && !strings.Contains(head, "=") {
		if err := a.parseTypes(head); err != nil {
			return a, fmt.Errorf("invalid annotation %q: %w", s, err)
		}
		kv = rest
	} else {
		a.Manifest = true
	}
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return a, fmt.Errorf("invalid annotation %q: expected KEY=VALUE", s)
	}
	a.Key, a.Value = k, v
	return a, nil
}

// parseTypes reads TYPE[,TYPE][PLATFORM].
func (a *Annotation) parseTypes(head string) error {
	if i := strings.Index(head, "["); i >= 0 {
		if !strings.HasSuffix(head, "]") {
			return fmt.Errorf("unclosed platform")
		}
		p, err := v1.ParsePlatform(head[i+1 : len(head)-1])
		if err != nil {
			return err
		}
		a.Platform, head = p, head[:i]
	}
	for _, t := range strings.Split(head, ",") {
		switch t {
		case "manifest":
			a.Manifest = true
		case "index":
			a.Index = true
		case "manifest-descriptor", "index-descriptor":
			return fmt.Errorf("annotation type %q is not supported: use manifest or index", t)
		default:
			return fmt.Errorf("unknown annotation type %q", t)
		}
	}
	return nil
}

// AnnotateImage adds the manifest annotations that apply to platform p
// (all of them when p is nil) to img's manifest.
func AnnotateImage(img v1.Image, p *v1.Platform, anns []Annotation) v1.Image {
	m := map[string]string{}
	for _, a := range anns {
		if a.Manifest && (a.Platform == nil || p == nil || platformEqual(*a.Platform, *p)) {
			m[a.Key] = a.Value
		}
	}
	if len(m) == 0 {
		return img
	}
	return mutate.Annotations(img, m).(v1.Image)
}

// AnnotateIndex adds the index annotations to idx.
func AnnotateIndex(idx v1.ImageIndex, anns []Annotation) v1.ImageIndex {
	m := map[string]string{}
	for _, a := range anns {
		if a.Index {
			m[a.Key] = a.Value
		}
	}
	if len(m) == 0 {
		return idx
	}
	return mutate.Annotations(idx, m).(v1.ImageIndex)
}

func platformEqual(a, b v1.Platform) bool {
	return a.OS == b.OS && a.Architecture == b.Architecture && (a.Variant == "" || a.Variant == b.Variant)
}
