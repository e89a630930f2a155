package buildctx

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lade-build/lade/images"
)

// Named is one --build-context NAME=VALUE; one of Dir, Ref and Layout
// is set.
type Named struct {
	Name string
	// Dir is a local directory, or a git or http(s) source (Source).
	Dir string
	// Source is a git or http(s) URL that Open makes ready into Dir.
	Source string
	// Ref is the image reference of docker-image://REF.
	Ref string
	// Layout is the OCI layout of oci-layout://DIR[@DIGEST|:TAG].
	Layout *Layout
}

// ParseNamed reads NAME=VALUE as buildx does: VALUE is
// docker-image://REF, oci-layout://DIR[@sha256:...|:TAG], a git or
// http(s) URL, or a local directory.
func ParseNamed(s string) (Named, error) {
	name, v, ok := strings.Cut(s, "=")
	if !ok || name == "" || v == "" {
		return Named{}, fmt.Errorf("invalid build context %q: expected NAME=VALUE", s)
	}
	n := Named{Name: name}
	switch {
	case strings.HasPrefix(v, "docker-image://"):
		n.Ref = strings.TrimPrefix(v, "docker-image://")
		if _, err := images.ParseTag(n.Ref); err != nil && !strings.Contains(n.Ref, "@") {
			return n, fmt.Errorf("invalid build context %q: %w", s, err)
		}
	case strings.HasPrefix(v, "oci-layout://"):
		n.Layout = parseLayout(strings.TrimPrefix(v, "oci-layout://"))
	case IsGitURL(v) || IsHTTPURL(v):
		n.Source = v
	case v == "-":
		return n, fmt.Errorf("invalid build context %q: stdin is only the main context", s)
	case strings.Contains(v, "://"):
		return n, fmt.Errorf("invalid build context %q: unsupported source", s)
	default:
		n.Dir = v
	}
	return n, nil
}

// Layout is an image in an OCI layout directory, chosen by digest, by
// its ref.name tag, or as the layout's only entry.
type Layout struct {
	Dir, Digest, Tag string
}

func parseLayout(v string) *Layout {
	l := &Layout{Dir: v}
	if dir, d, ok := strings.Cut(v, "@"); ok {
		l.Dir, l.Digest = dir, d
	} else if i := strings.LastIndex(v, ":"); i > strings.LastIndex(v, "/") {
		l.Dir, l.Tag = v[:i], v[i+1:]
	}
	l.Dir, _ = filepath.Abs(l.Dir)
	return l
}

// String is the layout as oci-layout:// names it.
func (l *Layout) String() string {
	s := "oci-layout://" + l.Dir
	if l.Digest != "" {
		return s + "@" + l.Digest
	}
	if l.Tag != "" {
		return s + ":" + l.Tag
	}
	return s
}

// Resolve reads the layout's image for platform p (the ref is ignored:
// the layout names the image); it has the solver's ImageSource shape.
func (l *Layout) Resolve(_ context.Context, _ string, p v1.Platform) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(l.Dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", l, err)
	}
	desc, err := l.pick(idx)
	if err != nil {
		return nil, err
	}
	if desc.MediaType.IsImage() {
		return idx.Image(desc.Digest)
	}
	child, err := idx.ImageIndex(desc.Digest)
	if err != nil {
		return nil, err
	}
	return platformImage(child, p)
}

// pick finds the layout's entry the digest or tag names.
func (l *Layout) pick(idx v1.ImageIndex) (v1.Descriptor, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	var found []v1.Descriptor
	for _, d := range im.Manifests {
		ref := d.Annotations[ocispec.AnnotationRefName]
		switch {
		case l.Digest != "" && d.Digest.String() == l.Digest,
			l.Tag != "" && (ref == l.Tag || strings.HasSuffix(ref, ":"+l.Tag)),
			l.Digest == "" && l.Tag == "":
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		return v1.Descriptor{}, fmt.Errorf("%s: %d matching images in index.json, want 1", l, len(found))
	}
	return found[0], nil
}

// platformImage is idx's image for p.
func platformImage(idx v1.ImageIndex, p v1.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.MediaType.IsImage() && images.PlatformMatches(images.Normalize(*d.Platform), p) {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("no image for platform %s", images.PlatformString(p))
}
