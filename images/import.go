package images

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/moby/api/types/events"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/internal/decompress"
)

// defaultPath is the PATH docker gives images that do not set one.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ImportOptions tune Import, as docker import's flags.
type ImportOptions struct {
	Created time.Time
	Message string   // the history comment (-m); default "imported from tarball"
	Changes []string // Dockerfile instructions applied to the config (-c), see ApplyChanges
}

// Import makes a one-layer linux/amd64 image from a root filesystem tarball
// (plain, gzip, bzip2, xz or zstd) and tags it as ref unless ref is empty,
// in which case it is stored untagged.
func (s *Store) Import(ctx context.Context, r io.Reader, ref string, opts ImportOptions) (v1.Image, error) {
	release, err := s.content.HoldGC(ctx)
	if err != nil {
		return nil, err
	}
	defer release() // blobs stay unreferenced until the index names them
	if ref != "" {
		if _, err := normalize(ref); err != nil {
			return nil, err
		}
	}
	cfg := v1.Config{Env: []string{defaultPath}}
	if err := ApplyChanges(&cfg, opts.Changes); err != nil {
		return nil, err
	}
	img, err := s.importLayer(ctx, r, cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("importing tarball: %w", err)
	}
	return s.storeAs(ctx, ref, img)
}

// storeAs stores img tagged as ref, or untagged when ref is "", and
// returns it as stored.
func (s *Store) storeAs(ctx context.Context, ref string, img v1.Image) (v1.Image, error) {
	var err error
	if ref != "" {
		err = s.Tag(ctx, ref, img)
	} else {
		err = s.Store(ctx, img)
	}
	if err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	if id, err := img.ConfigName(); err == nil {
		s.event(events.ActionImport, id.String(), nil)
	}
	return s.load(ctx, d)
}

func (s *Store) importLayer(ctx context.Context, r io.Reader, cfg v1.Config, opts ImportOptions) (v1.Image, error) {
	tr, err := plainTarball(ctx, r)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	info, err := s.content.WriteLayer(ctx, tr, cache.Gzip)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Created:      v1.Time{Time: opts.Created},
		OS:           "linux",
		Architecture: "amd64",
		Config:       cfg,
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer:   s.content.Layer(info),
		History: v1.History{Created: v1.Time{Time: opts.Created}, Comment: cmp.Or(opts.Message, "imported from tarball")},
	})
}

// plainTarball returns the plain stream of a possibly compressed tarball.
func plainTarball(ctx context.Context, r io.Reader) (io.ReadCloser, error) {
	rc, err := decompress.Reader(ctx, r)
	if errors.Is(err, decompress.ErrEmpty) {
		return nil, errors.New("empty tarball")
	}
	return rc, err
}

// containerdNameAnnotation is where containerd keeps the full reference; the OCI
// ref.name annotation is often only a tag.
const containerdNameAnnotation = "io.containerd.image.name"

// LoadLayout stores the images listed in the OCI layout at dir. Each is
// tagged by its org.opencontainers.image.ref.name annotation (a bare tag is
// applied to ref's repository), else as ref, else stored untagged. An
// entry that is an index (a multi-platform image, as skopeo copy --all
// and crane write one) is stored whole, with TagIndex.
func (s *Store) LoadLayout(ctx context.Context, dir string, ref string) ([]Loaded, error) {
	release, err := s.content.HoldGC(ctx)
	if err != nil {
		return nil, err
	}
	defer release() // blobs stay unreferenced until the index names them
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("loading layout %s: %w", dir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("loading layout %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("loading layout %s: %w", dir, err)
	}
	if err := cache.CheckIndex(im); err != nil {
		return nil, fmt.Errorf("loading layout %s: %w", dir, err)
	}
	var out []Loaded
	for _, desc := range im.Manifests {
		l, ok, err := s.loadLayoutEntry(ctx, idx, desc, layoutName(desc.Annotations, ref))
		if err != nil {
			return nil, fmt.Errorf("loading layout %s: %w", dir, err)
		}
		if ok {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("loading layout %s: no image manifests or indexes in index.json", dir)
	}
	return out, nil
}

// loadLayoutEntry stores the image or index desc of a layout's index
// under tag ("": untagged); ok is false for other entries.
func (s *Store) loadLayoutEntry(ctx context.Context, idx v1.ImageIndex, desc v1.Descriptor, tag string) (l Loaded, ok bool, err error) {
	l.Digest = desc.Digest
	if tag != "" {
		l.Names = []string{tag}
		if n, err := normalize(tag); err == nil {
			l.Names = []string{familiar(n)} // as docker load prints it
		}
	}
	switch {
	case desc.MediaType.IsImage():
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return l, false, fmt.Errorf("image %s: %w", desc.Digest, err)
		}
		if tag != "" {
			err = s.Tag(ctx, tag, img)
		} else {
			err = s.Store(ctx, img)
		}
		if err != nil {
			return l, false, err
		}
		l.ID, err = img.ConfigName()
		return l, true, err
	case desc.MediaType.IsIndex():
		child, err := idx.ImageIndex(desc.Digest)
		if err != nil {
			return l, false, fmt.Errorf("index %s: %w", desc.Digest, err)
		}
		var names []string
		if tag != "" {
			n, err := normalize(tag)
			if err != nil {
				return l, false, err
			}
			names = append(names, n)
		}
		l.ID, err = s.keepIndex(ctx, child, names...)
		return l, true, err
	}
	return l, false, nil
}

func layoutName(ann map[string]string, ref string) string {
	if n := ann[containerdNameAnnotation]; n != "" {
		return n
	}
	n := ann[ocispec.AnnotationRefName]
	if n == "" {
		return ref
	}
	if ref != "" && !strings.ContainsAny(n, "/:@") {
		// A bare tag such as "1.0": apply it to ref's repository.
		if t, err := ParseTag(ref); err == nil {
			return t.Context().Tag(n).String()
		}
	}
	return n
}
