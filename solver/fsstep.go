package solver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
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
	b := sc.bd.b
	if err := sc.bd.ensureSnapshots(ctx, sc.name, sc.st.layers, sc.st.diffIDs); err != nil {
		return false, err
	}
	a, err := b.Snapshots.Prepare(ctx, sc.st.diffIDs)
	if err != nil {
		return false, fmt.Errorf("preparing snapshot: %w", err)
	}
	defer b.Snapshots.Remove(a)
	a.Volatile = true // the layer blob is what is made durable
	if err := a.Mount(); err != nil {
		return false, fmt.Errorf("mounting snapshot: %w", err)
	}
	if err := fn(a.Merged); err != nil {
		return false, err
	}
	if err := a.Unmount(); err != nil {
		return false, fmt.Errorf("unmounting snapshot: %w", err)
	}
	return sc.commitUpper(ctx, step, a)
}

// commitUpper diffs an unmounted active snapshot into a stored layer, as
// the step's "writing layer" status.
func (sc *stageCtx) commitUpper(ctx context.Context, step *progress.Step, a *snapshot.Active) (bool, error) {
	b := sc.bd.b
	status := step.Status("writing layer")
	pr, pw := io.Pipe()
	go func() {
		// Batch the tar's 512-byte headers and small files: each write to
		// the pipe is a handoff to the reading goroutine.
		bw := bufio.NewWriterSize(pw, 256<<10)
		_, err := snapshot.Diff(ctx, a.Upper, a.Lowers, bw, snapshot.DiffOptions{SourceDateEpoch: sc.bd.o.SourceDateEpoch})
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	info, err := b.Content.WriteLayer(ctx, pr, sc.bd.o.Compression)
	pr.CloseWithError(err) // unblock the differ if the writer failed first
	if err != nil {
		status.Done("")
		return false, err // WriteLayer's errors say "writing layer"
	}
	err = b.Snapshots.Commit(ctx, a, info.DiffID)
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
	in["platform"] = o.Platform.String()
}

// view mounts a throwaway overlay of a stage's or image's layers (what
// names them), for reading them (COPY --from, RUN --mount from=),
// unpacking them first if needed. release unmounts and deletes it.
func (bd *build) view(ctx context.Context, what string, layers []v1.Layer, diffIDs []v1.Hash) (string, func(), error) {
	if err := bd.ensureSnapshots(ctx, what, layers, diffIDs); err != nil {
		return "", nil, err
	}
	a, err := bd.b.Snapshots.Prepare(ctx, diffIDs)
	if err != nil {
		return "", nil, fmt.Errorf("preparing snapshot: %w", err)
	}
	if err := a.Mount(); err != nil {
		bd.b.Snapshots.Remove(a)
		return "", nil, fmt.Errorf("mounting snapshot: %w", err)
	}
	return a.Merged, func() { bd.b.Snapshots.Remove(a) }, nil
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
