package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/internal/flock"
	"github.com/lade-build/lade/progress"
	"github.com/lade-build/lade/snapshot"
	"github.com/lade-build/lade/solver"
)

// cacheSpec is one --cache-to or --cache-from value, buildx style:
// type=registry,ref=REF[,mode=min|max] or type=local,dest=DIR / src=DIR.
type cacheSpec struct {
	typ, ref, dir, mode string
	mounts              bool // cache-mounts=true: also carry RUN --mount=type=cache dirs
}

// cacheRefName tags the cache manifest inside a local OCI layout.
const cacheRefName = "lade-build-cache"

func parseCacheSpec(s string, to bool) (cacheSpec, error) {
	c := cacheSpec{mode: "min"}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			if !strings.Contains(s, "=") { // buildx shorthand: a bare ref
				c.typ, c.ref = "registry", s
				break
			}
			return c, fmt.Errorf("invalid cache option %q: expected key=value", kv)
		}
		switch k {
		case "type":
			c.typ = v
		case "ref":
			c.ref = v
		case "dest", "src":
			c.dir = v
		case "mode":
			if v != "min" && v != "max" {
				return c, fmt.Errorf("invalid cache mode %q: use min or max", v)
			}
			c.mode = v
		case "cache-mounts":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return c, fmt.Errorf("invalid cache-mounts value %q", v)
			}
			c.mounts = b
		case "ignore-error", "compression", "oci-mediatypes", "image-manifest":
			// accepted for buildx compatibility; lade always writes OCI
		default:
			return c, fmt.Errorf("unknown cache option %q", k)
		}
	}
	switch c.typ {
	case "registry":
		if c.ref == "" {
			return c, errors.New("cache type=registry needs ref=REF")
		}
	case "local":
		if c.dir == "" {
			if to {
				return c, errors.New("cache type=local needs dest=DIR")
			}
			return c, errors.New("cache type=local needs src=DIR")
		}
	default:
		return c, fmt.Errorf("cache type %q not supported: use registry or local", c.typ)
	}
	return c, nil
}

// importCache loads the records of every --cache-from into the local
// index. Their layers stay where they are: the returned Remote (nil when
// no source could be read) fetches one when a build first needs it.
func (a *app) importCache(ctx context.Context, specs []cacheSpec, ix *cache.Index, prog *progress.Printer) *cache.Remote {
	remote := cache.NewRemote(a.content)
	n := 0
	for _, c := range specs {
		img, err := a.cacheImage(ctx, c)
		if err == nil {
			var recs []cache.Record
			var mounts []cache.MountRecord
			if recs, mounts, err = remote.Add(img); err == nil {
				for _, r := range recs {
					if _, ok := ix.Get(r.Key); !ok {
						_ = ix.Put(r.Key, r.Result)
					}
				}
				n++
				seeded := a.seedCacheMounts(ctx, img, mounts, prog)
				prog.Printf("importing cache from %s: %d records, %d cache mounts seeded\n", c.where(), len(recs), seeded)
				continue
			}
		}
		// A missing or unreadable cache only costs a cold build, as in buildx.
		prog.Printf("WARNING: cannot import cache from %s: %v\n", c.where(), err)
	}
	if n == 0 {
		return nil
	}
	return remote
}

func (c cacheSpec) where() string {
	if c.typ == "registry" {
		return c.ref
	}
	return c.dir
}

func (a *app) cacheImage(ctx context.Context, c cacheSpec) (v1.Image, error) {
	if c.typ == "registry" {
		return a.images.RemoteImage(ctx, c.ref, a.insecure)
	}
	idx, err := layout.ImageIndexFromPath(c.dir)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] == cacheRefName {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("no %s manifest in %s", cacheRefName, c.dir)
}

// exportCache writes the build's cache records to each --cache-to. A
// record imported with --cache-from whose layer no step needed has its
// blob only in remote: it is fetched now.
func (a *app) exportCache(ctx context.Context, specs []cacheSpec, res *solver.Result, remote *cache.Remote, prog *progress.Printer) error {
	for _, c := range specs {
		recs := res.FinalRecords
		if c.mode == "max" {
			recs = res.AllRecords
		}
		out := make([]cache.Record, 0, len(recs))
		seen := map[string]bool{}
		for _, r := range recs {
			if seen[r.Key] {
				continue
			}
			seen[r.Key] = true
			if remote != nil {
				if err := remote.Fetch(ctx, r.Result.Layer); err != nil {
					return fmt.Errorf("exporting cache: %w", err)
				}
			}
			out = append(out, r)
		}
		var mounts []cache.MountRecord
		if c.mounts {
			var err error
			if mounts, err = a.packCacheMounts(ctx, res.CacheMounts); err != nil {
				return fmt.Errorf("exporting cache mounts: %w", err)
			}
		}
		img, err := a.content.CacheImage(out, mounts)
		if err != nil {
			return fmt.Errorf("exporting cache: %w", err)
		}
		step := prog.Start(fmt.Sprintf("exporting cache to %s (mode=%s, %d records)", c.where(), c.mode, len(out)))
		if c.typ == "registry" {
			_, err = a.images.Push(ctx, c.ref, img, images.PushOptions{Insecure: a.insecure})
		} else {
			err = writeLayoutImage(c.dir, img)
		}
		step.Done(true, err)
		if err != nil {
			return fmt.Errorf("exporting cache to %s: %w", c.where(), err)
		}
	}
	return nil
}

// writeLayoutImage puts img into the OCI layout at dir under the cache's
// ref name, replacing an earlier cache there.
func writeLayoutImage(dir string, img v1.Image) error {
	opt := layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": cacheRefName})
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		p, err := layout.FromPath(dir)
		if err != nil {
			return err
		}
		return p.ReplaceImage(img, match.Annotation("org.opencontainers.image.ref.name", cacheRefName), opt)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img, opt)
}

// packCacheMounts stores each cache mount's content as a layer, reading it
// under the mount's lock so no step writes while it is packed.
func (a *app) packCacheMounts(ctx context.Context, ids []string) ([]cache.MountRecord, error) {
	var out []cache.MountRecord
	for _, id := range ids {
		dir := solver.CacheMountDir(a.root, id)
		err := withFlock(ctx, filepath.Join(dir, "lock"), unix.LOCK_SH, func() error {
			pr, pw := io.Pipe()
			go func() {
				_, err := snapshot.Diff(ctx, filepath.Join(dir, "data"), nil, pw, snapshot.DiffOptions{})
				pw.CloseWithError(err)
			}()
			info, err := a.content.WriteLayer(ctx, pr, cache.Gzip)
			pr.CloseWithError(err)
			if err == nil {
				out = append(out, cache.MountRecord{ID: id, Layer: info})
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("cache mount %q: %w", id, err)
		}
	}
	return out, nil
}

// seedCacheMounts fills cache mounts that do not exist here yet from an
// imported cache; a mount that already has content is left alone.
func (a *app) seedCacheMounts(ctx context.Context, img v1.Image, mounts []cache.MountRecord, prog *progress.Printer) int {
	n := 0
	for _, m := range mounts {
		dir := solver.CacheMountDir(a.root, m.ID)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			prog.Printf("WARNING: cache mount %q: %v\n", m.ID, err)
			continue
		}
		err := withFlock(ctx, filepath.Join(dir, "lock"), unix.LOCK_EX, func() error {
			data := filepath.Join(dir, "data")
			if ents, err := os.ReadDir(data); err == nil && len(ents) > 0 {
				return nil
			}
			l, err := img.LayerByDigest(m.Layer.Digest)
			if err != nil {
				return err
			}
			rc, err := l.Uncompressed()
			if err != nil {
				return err
			}
			defer rc.Close()
			tmp, err := os.MkdirTemp(dir, "seed-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			// The layer has no entry for the mount's own root; 0755 is the
			// default a fresh cache mount gets.
			if err := os.Chmod(tmp, 0o755); err != nil {
				return err
			}
			if err := snapshot.Apply(ctx, tmp, rc); err != nil {
				return err
			}
			os.RemoveAll(data)
			if err := os.Rename(tmp, data); err != nil {
				return err
			}
			n++
			return nil
		})
		if err != nil {
			prog.Printf("WARNING: seeding cache mount %q: %v\n", m.ID, err)
		}
	}
	return n
}

func withFlock(ctx context.Context, path string, how int, fn func() error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := flock.Wait(ctx, f, how, nil); err != nil {
		return err
	}
	return fn()
}
