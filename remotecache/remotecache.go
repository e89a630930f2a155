package remotecache

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/images"
)

// refName tags the cache manifest inside a local OCI layout.
const refName = "lade-build-cache"

const refAnnotation = "org.opencontainers.image.ref.name"

// Registry reads and pushes cache images (the image store does both).
type Registry interface {
	RemoteImage(ctx context.Context, ref string, insecure []string) (v1.Image, error)
	Push(ctx context.Context, ref string, img v1.Image, opts images.PushOptions) (v1.Hash, error)
}

// Progress shows what a transfer does.
type Progress interface {
	Printf(format string, args ...any)
	// Begin shows a step; the returned func ends it.
	Begin(name string) (done func(error))
}

// Options connect Import and Export to one lade root.
type Options struct {
	Content  *cache.Store
	Registry Registry
	Insecure []string // registries reached over plain HTTP
	// MountDir is the directory of a cache mount id.
	MountDir func(id string) string
	Progress Progress
}

// Build is what a build leaves to export.
type Build struct {
	// Final are the records of the target's layer chain (mode=min),
	// All those of every stage (mode=max).
	Final, All []cache.Record
	Mounts     []string // ids of the cache mounts the build used
}

// Import loads the records of every spec into the key index ix, unless
// the index has the key already. Their layers stay where they are: the
// returned Remote (nil when no source could be read) fetches one when a
// build first needs it.
func Import(ctx context.Context, o Options, specs []Spec, ix *cache.Index) *Remote {
	remote := NewRemote(o.Content)
	n := 0
	for _, c := range specs {
		if err := o.importOne(ctx, c, ix, remote); err != nil {
			// A missing or unreadable cache only costs a cold build, as in buildx.
			o.Progress.Printf("WARNING: cannot import cache from %s: %v\n", c.Where(), err)
			continue
		}
		n++
	}
	if n == 0 {
		return nil
	}
	return remote
}

func (o *Options) importOne(ctx context.Context, c Spec, ix *cache.Index, remote *Remote) error {
	img, err := o.source(ctx, c)
	if err != nil {
		return err
	}
	recs, mounts, err := remote.Add(img)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if _, ok := ix.Get(r.Key); !ok {
			_ = ix.Put(r.Key, r.Result)
		}
	}
	seeded := o.seedMounts(ctx, img, mounts)
	o.Progress.Printf("importing cache from %s: %d records, %d cache mounts seeded\n", c.Where(), len(recs), seeded)
	return nil
}

// source opens the cache image a spec names.
func (o *Options) source(ctx context.Context, c Spec) (v1.Image, error) {
	if c.Type == "registry" {
		return o.Registry.RemoteImage(ctx, c.Ref, o.Insecure)
	}
	idx, err := layout.ImageIndexFromPath(c.Dir)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.Annotations[refAnnotation] == refName {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("no %s manifest in %s", refName, c.Dir)
}

// Export writes the build's cache records to each spec. A record imported
// from remote whose layer no step needed has its blob only there: it is
// fetched now.
func Export(ctx context.Context, o Options, specs []Spec, b Build, remote *Remote) error {
	for _, c := range specs {
		recs := b.Final
		if c.Mode == "max" {
			recs = b.All
		}
		img, n, err := o.pack(ctx, c, recs, b.Mounts, remote)
		if err != nil {
			return err
		}
		done := o.Progress.Begin(fmt.Sprintf("exporting cache to %s (mode=%s, %d records)", c.Where(), c.Mode, n))
		err = o.write(ctx, c, img)
		done(err)
		if err != nil {
			return fmt.Errorf("exporting cache to %s: %w", c.Where(), err)
		}
	}
	return nil
}

// pack builds the cache image of one spec from recs (each key once) and,
// if the spec asks, the cache mounts; n is the count of records.
func (o *Options) pack(ctx context.Context, c Spec, recs []cache.Record, mountIDs []string, remote *Remote) (img v1.Image, n int, err error) {
	out := make([]cache.Record, 0, len(recs))
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.Key] {
			continue
		}
		seen[r.Key] = true
		if remote != nil {
			if err := remote.Fetch(ctx, r.Result.Layer); err != nil {
				return nil, 0, fmt.Errorf("exporting cache: %w", err)
			}
		}
		out = append(out, r)
	}
	var mounts []MountRecord
	if c.Mounts {
		if mounts, err = o.packMounts(ctx, mountIDs); err != nil {
			return nil, 0, fmt.Errorf("exporting cache mounts: %w", err)
		}
	}
	if img, err = newImage(o.Content, out, mounts); err != nil {
		return nil, 0, fmt.Errorf("exporting cache: %w", err)
	}
	return img, len(out), nil
}

func (o *Options) write(ctx context.Context, c Spec, img v1.Image) error {
	if c.Type == "registry" {
		_, err := o.Registry.Push(ctx, c.Ref, img, images.PushOptions{Insecure: o.Insecure})
		return err
	}
	return writeLayout(c.Dir, img)
}

// writeLayout puts img into the OCI layout at dir under the cache's ref
// name, replacing an earlier cache there.
func writeLayout(dir string, img v1.Image) error {
	opt := layout.WithAnnotations(map[string]string{refAnnotation: refName})
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		p, err := layout.FromPath(dir)
		if err != nil {
			return err
		}
		return p.ReplaceImage(img, match.Annotation(refAnnotation, refName), opt)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img, opt)
}
