package solver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/fileop"
)

// NamedContext is what --build-context gives a name. Exactly one of
// its fields is set.
type NamedContext struct {
	// Dir is a directory: COPY --from=NAME reads its files, and FROM NAME
	// starts from them (scratch plus one layer of them, as BuildKit).
	Dir string
	// Ref is an image reference (docker-image://REF), resolved as FROM
	// REF would be.
	Ref string
	// Image resolves the image itself (oci-layout://DIR); Display names
	// it in the progress output.
	Image   ImageSource
	Display string
}

// errNamedDir is fromSource's answer for a directory context, which has
// no layers to mount.
var errNamedDir = errors.New("a directory context cannot be mounted")

// named finds the named context that ref names, matched as BuildKit
// does on the normalized reference ("alpine" is "alpine:latest").
func (bd *build) named(ref string) (NamedContext, bool) {
	if len(bd.o.NamedContexts) == 0 {
		return NamedContext{}, false
	}
	if nc, ok := bd.o.NamedContexts[ref]; ok {
		return nc, true
	}
	want := imageName(ref, nil)
	for k, nc := range bd.o.NamedContexts {
		if strings.EqualFold(imageName(k, nil), want) {
			return nc, true
		}
	}
	return NamedContext{}, false
}

// namedImageState is the image state of an image named context.
func (bd *build) namedImageState(ctx context.Context, nc NamedContext, p v1.Platform) (*stageState, error) {
	if nc.Image != nil {
		return bd.sourceState(ctx, "named "+nc.Display, nc.Display, nc.Image, p)
	}
	return bd.imageState(ctx, nc.Ref, p)
}

// namedBase is the base of a stage whose FROM names a context: for a
// directory, scratch (the caller copies the files in); else its image.
func (bd *build) namedBase(ctx context.Context, nc NamedContext, p v1.Platform) (*stageState, error) {
	if nc.Dir == "" {
		return bd.namedImageState(ctx, nc, p)
	}
	st := &stageState{}
	st.img.OS, st.img.Architecture, st.img.Variant = p.OS, p.Architecture, p.Variant
	st.img.RootFS.Type = "layers"
	st.img.Config.WorkingDir = "/"
	st.key = "scratch " + p.String()
	return st, nil
}

// namedDirCopy is the instruction that fills a stage whose FROM names a
// directory context with its files.
func (bd *build) namedDirCopy(n *stageNode) ([]string, bool) {
	nc, ok := bd.named(n.baseName)
	if !ok || nc.Dir == "" {
		return nil, false
	}
	return []string{fmt.Sprintf("COPY --from=%s . /", n.baseName)}, true
}

// namedCopySource is the copy source of COPY --from=NAME for a directory
// context: its files, keyed on their content.
func (sc *stageCtx) namedCopySource(ctx context.Context, dir string, cs copySpec, in inputs) (copySource, error) {
	src := fileop.Source{Root: dir}
	d, err := fileop.Checksum(ctx, src, cs.src.SourcePaths, nil)
	if err != nil {
		d = "error: " + err.Error() // Copy reports a missing source
	}
	in["from"] = "context " + d
	in["source paths"] = strings.Join(cs.src.SourcePaths, "\x00")
	return copySource{src: src}, nil
}
