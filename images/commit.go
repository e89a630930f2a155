package images

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lade-build/lade/cache"
)

// CommitOptions say how docker commit makes an image of a container.
type CommitOptions struct {
	Ref     string   // REPO[:TAG]; "" stores the image untagged
	Author  string   // -a
	Comment string   // -m, the new layer's history comment
	Changes []string // -c: Dockerfile instructions (ApplyChanges)
	// Layer writes the container's changes as an uncompressed layer tar.
	Layer func(io.Writer) error
	// Config applies the container's own settings (its command, env,
	// working dir...) to the base image's config, before Changes.
	Config    func(*v1.Config)
	CreatedBy string // the new layer's history created_by
	Created   time.Time
}

// Commit stores base plus one layer, o.Layer, with its config changed as
// o says, under o.Ref, and returns the stored image.
func (s *Store) Commit(ctx context.Context, base v1.Image, o CommitOptions) (v1.Image, error) {
	if o.Ref != "" {
		if _, err := normalize(o.Ref); err != nil {
			return nil, err
		}
	}
	release, err := s.content.HoldGC(ctx)
	if err != nil {
		return nil, err
	}
	defer release() // blobs stay unreferenced until the index names them
	img, err := s.commitImage(ctx, base, o)
	if err != nil {
		return nil, fmt.Errorf("committing: %w", err)
	}
	return s.storeAs(ctx, o.Ref, img)
}

func (s *Store) commitImage(ctx context.Context, base v1.Image, o CommitOptions) (v1.Image, error) {
	cf, err := base.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	if o.Config != nil {
		o.Config(&cf.Config)
	}
	if err := ApplyChanges(&cf.Config, o.Changes); err != nil {
		return nil, err
	}
	cf.Created = v1.Time{Time: o.Created}
	if o.Author != "" {
		cf.Author = o.Author
	}
	img, err := mutate.ConfigFile(base, cf)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(o.Layer(pw)) }()
	info, err := s.content.WriteLayer(ctx, pr, cache.Gzip)
	pr.CloseWithError(err) // ends the writer if the store gave up
	if err != nil {
		return nil, err
	}
	img, err = mutate.Append(img, mutate.Addendum{
		Layer: s.content.Layer(info),
		History: v1.History{Created: cf.Created, Author: o.Author, Comment: o.Comment,
			CreatedBy: o.CreatedBy},
	})
	if err != nil || o.Comment == "" {
		return img, err
	}
	return withComment(img, o.Comment)
}

// withComment is img with docker's "comment" in its config (commit -m,
// which image inspect shows as Comment); v1.ConfigFile has no such field,
// so the raw config is edited and the manifest made to name it.
func withComment(img v1.Image, comment string) (v1.Image, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	if fields["comment"], err = json.Marshal(comment); err != nil {
		return nil, err
	}
	core := &rawConfigCore{img: img}
	if core.config, err = json.Marshal(fields); err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	m = m.DeepCopy()
	if m.Config.Digest, m.Config.Size, err = v1.SHA256(bytes.NewReader(core.config)); err != nil {
		return nil, err
	}
	if core.manifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	return partial.CompressedToImage(core)
}

// rawConfigCore serves img's layers under another config and manifest.
type rawConfigCore struct {
	img              v1.Image
	config, manifest []byte
}

func (c *rawConfigCore) RawConfigFile() ([]byte, error)      { return c.config, nil }
func (c *rawConfigCore) RawManifest() ([]byte, error)        { return c.manifest, nil }
func (c *rawConfigCore) MediaType() (types.MediaType, error) { return c.img.MediaType() }
func (c *rawConfigCore) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	return c.img.LayerByDigest(h)
}
