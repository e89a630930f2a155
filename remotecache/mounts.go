package remotecache

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/internal/flock"
	"github.com/lade-build/lade/snapshot"
)

// A cache mount's directory holds data/, what steps see, and a lock file
// its users hold (shared, or exclusive for sharing=locked).

// packMounts stores each cache mount's content as a layer, reading it
// under the mount's lock so no step writes while it is packed.
func (o *Options) packMounts(ctx context.Context, ids []string) ([]MountRecord, error) {
	var out []MountRecord
	for _, id := range ids {
		dir := o.MountDir(id)
		err := flock.With(ctx, filepath.Join(dir, "lock"), unix.LOCK_SH, func() error {
			info, err := o.packDir(ctx, filepath.Join(dir, "data"))
			if err == nil {
				out = append(out, MountRecord{ID: id, Layer: info})
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("cache mount %q: %w", id, err)
		}
	}
	return out, nil
}

// packDir writes the tree at dir into the content store as a gzip layer.
func (o *Options) packDir(ctx context.Context, dir string) (cache.LayerInfo, error) {
	pr, pw := io.Pipe()
	go func() {
		_, err := snapshot.Diff(ctx, dir, nil, pw, snapshot.DiffOptions{})
		pw.CloseWithError(err)
	}()
	info, err := o.Content.WriteLayer(ctx, pr, cache.Gzip)
	pr.CloseWithError(err)
	return info, err
}

// seedMounts fills cache mounts that do not exist here yet from an
// imported cache; a mount that already has content is left alone.
func (o *Options) seedMounts(ctx context.Context, img v1.Image, mounts []MountRecord) int {
	n := 0
	for _, m := range mounts {
		dir := o.MountDir(m.ID)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			o.Progress.Printf("WARNING: cache mount %q: %v\n", m.ID, err)
			continue
		}
		err := flock.With(ctx, filepath.Join(dir, "lock"), unix.LOCK_EX, func() error {
			seeded, err := seedMount(ctx, img, dir, m.Layer.Digest)
			if seeded {
				n++
			}
			return err
		})
		if err != nil {
			o.Progress.Printf("WARNING: seeding cache mount %q: %v\n", m.ID, err)
		}
	}
	return n
}

// seedMount unpacks layer d of img as dir/data unless data has content.
// The caller holds the mount's lock exclusively.
func seedMount(ctx context.Context, img v1.Image, dir string, d v1.Hash) (bool, error) {
	data := filepath.Join(dir, "data")
	if ents, err := os.ReadDir(data); err == nil && len(ents) > 0 {
		return false, nil
	}
	l, err := img.LayerByDigest(d)
	if err != nil {
		return false, err
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return false, err
	}
	defer rc.Close()
	tmp, err := os.MkdirTemp(dir, "seed-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	// The layer has no entry for the mount's own root; 0755 is the
	// default a fresh cache mount gets.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return false, err
	}
	if err := snapshot.Apply(ctx, tmp, rc); err != nil {
		return false, err
	}
	os.RemoveAll(data)
	if err := os.Rename(tmp, data); err != nil {
		return false, err
	}
	return true, nil
}
