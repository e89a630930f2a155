package solver

import (
	"context"
	"errors"
	"fmt"
	"os"

	securejoin "github.com/cyphar/filepath-securejoin"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/progress"

	"github.com/lade-build/lade/snapshot"
)

// fsStep runs fn against a writable overlay of the stage's layers and turns
// what fn changed into a new layer. Like BuildKit, a step that changed
// nothing still adds its (empty) layer; only metadata instructions add none.
func (sc *stageCtx) fsStep(ctx context.Context, step *progress.Step, fn func(rootfs string) error) (bool, error) {
	if err := sc.bd.ensureSnapshots(ctx, sc.name, sc.st.layers, sc.st.diffIDs); err != nil {
		return false, err
	}
	// Volatile: the layer blob is what is made durable.
	m, err := sc.bd.b.Snapshots.Mount(ctx, sc.st.diffIDs, true)
	if err != nil {
		return false, err
	}
	defer m.Remove()
	if err := fn(m.Root()); err != nil {
		return false, err
	}
	return sc.commitUpper(ctx, step, m)
}

// commitUpper diffs a step's snapshot into a stored layer, as the step's
// "writing layer" status.
func (sc *stageCtx) commitUpper(ctx context.Context, step *progress.Step, m Mounted) (bool, error) {
	b := sc.bd.b
	diff, err := m.Diff(ctx, snapshot.DiffOptions{SourceDateEpoch: sc.bd.o.SourceDateEpoch})
	if err != nil {
		return false, err
	}
	status := step.Status("writing layer")
	info, err := b.Content.WriteLayer(ctx, diff, sc.bd.o.Compression)
	diff.Close() // unblock the differ if the writer failed first
	if err != nil {
		status.Done("")
		return false, err // WriteLayer's errors say "writing layer"
	}
	err = m.Commit(ctx, info.DiffID)
	status.Done("writing layer " + info.Digest.String())
	if err != nil {
		return false, fmt.Errorf("committing snapshot %s: %w", info.DiffID, err)
	}
	sc.appendLayer(info)
	return true, nil
}

// appendLayer adds a stored layer on top of the stage.
func (sc *stageCtx) appendLayer(info cache.LayerInfo) {
	sc.st.layers = append(sc.st.layers, storedLayer{Layer: sc.bd.b.Content.Layer(info), info: info})
	sc.st.diffIDs = append(sc.st.diffIDs, info.DiffID)
	sc.st.img.RootFS.DiffIDs = append(sc.st.img.RootFS.DiffIDs, digestOf(info.DiffID))
	sc.st.lastInfo = info
}

// addBuildInputs records the build-wide settings that shape every layer.
func (sc *stageCtx) addBuildInputs(in inputs) {
	o := sc.bd.o
	if o.SourceDateEpoch != nil {
		in["SOURCE_DATE_EPOCH"] = o.SourceDateEpoch.UTC().String()
	}
	in["compression"] = string(o.Compression)
	// The platform the stage runs for: a FROM --platform=$BUILDPLATFORM
	// stage has the same steps in every target's build.
	in["platform"] = sc.st.platform.String()
}

// view mounts a throwaway overlay of a stage's or image's layers (what
// names them), for reading them (COPY --from, RUN --mount from=),
// unpacking them first if needed. release unmounts and deletes it.
func (bd *build) view(ctx context.Context, what string, layers []v1.Layer, diffIDs []v1.Hash) (string, func(), error) {
	if err := bd.ensureSnapshots(ctx, what, layers, diffIDs); err != nil {
		return "", nil, err
	}
	m, err := bd.b.Snapshots.Mount(ctx, diffIDs, false)
	if err != nil {
		return "", nil, err
	}
	return m.Root(), func() { m.Remove() }, nil
}

// mkdirAllOwned creates dir (absolute, inside rootfs) and any missing
// parents with mode 0755 owned by uid:gid, never leaving rootfs.
func mkdirAllOwned(rootfs, dir string, uid, gid int) error {
	p, err := securejoin.SecureJoin(rootfs, dir)
	if err != nil {
		return err
	}
	var missing []string
	for cur := p; len(cur) > len(rootfs); cur = parentDir(cur) {
		fi, err := os.Lstat(cur)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s: not a directory", dir)
			}
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		missing = append(missing, cur)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := os.Lchown(missing[i], uid, gid); err != nil {
			return err
		}
		// Mkdir is subject to umask; BuildKit creates exactly 0755.
		if err := os.Chmod(missing[i], 0o755); err != nil {
			return err
		}
	}
	return nil
}

func parentDir(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "/"
}
