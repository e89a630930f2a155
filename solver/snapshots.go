package solver

import (
	"bufio"
	"context"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/snapshot"
)

// Snapshotter is the layer store a build's steps run on, cut to what the
// solver calls (containerd's snapshotter verbs, with the mount done by
// the store). OverlaySnapshots adapts lade's overlayfs store; the
// solver's tests use one of plain directories that needs no privilege.
type Snapshotter interface {
	// Has tells whether layer diffID is unpacked.
	Has(diffID v1.Hash) bool
	// Unpack stores the uncompressed layer tar r as the snapshot diffID,
	// checking the digest.
	Unpack(ctx context.Context, diffID v1.Hash, r io.Reader) error
	// Mount prepares a writable snapshot over parents (bottom layer first,
	// each unpacked) and mounts it. Volatile skips syncing its writes: for
	// steps, whose result is made durable as a stored blob.
	Mount(ctx context.Context, parents []v1.Hash, volatile bool) (Mounted, error)
}

// Mounted is one prepared snapshot, from Mount to Remove.
type Mounted interface {
	// Root is the directory it is mounted at.
	Root() string
	// Diff unmounts it and streams what changed since Mount as an
	// uncompressed layer tar; a failure reaches the reader.
	Diff(ctx context.Context, opts snapshot.DiffOptions) (io.ReadCloser, error)
	// Commit stores the changes as the snapshot diffID (the tar's digest).
	Commit(ctx context.Context, diffID v1.Hash) error
	// Remove unmounts and deletes it; safe after Commit and more than once.
	Remove() error
}

// OverlaySnapshots lets a build run its steps on overlay mounts of s.
func OverlaySnapshots(s *snapshot.Snapshotter) Snapshotter { return overlaySnapshots{s} }

type overlaySnapshots struct{ *snapshot.Snapshotter }

func (o overlaySnapshots) Mount(ctx context.Context, parents []v1.Hash, volatile bool) (Mounted, error) {
	a, err := o.Prepare(ctx, parents)
	if err != nil {
		return nil, fmt.Errorf("preparing snapshot: %w", err)
	}
	a.Volatile = volatile
	if err := a.Mount(); err != nil {
		o.Snapshotter.Remove(a)
		return nil, fmt.Errorf("mounting snapshot: %w", err)
	}
	return overlayMount{o.Snapshotter, a}, nil
}

type overlayMount struct {
	s *snapshot.Snapshotter
	a *snapshot.Active
}

func (m overlayMount) Root() string { return m.a.Merged }

func (m overlayMount) Diff(ctx context.Context, opts snapshot.DiffOptions) (io.ReadCloser, error) {
	if err := m.a.Unmount(); err != nil {
		return nil, fmt.Errorf("unmounting snapshot: %w", err)
	}
	return diffStream(ctx, m.a.Upper, m.a.Lowers, opts), nil
}

func (m overlayMount) Commit(ctx context.Context, diffID v1.Hash) error {
	return m.s.Commit(ctx, m.a, diffID)
}

func (m overlayMount) Remove() error { return m.s.Remove(m.a) }

// diffStream runs snapshot.Diff of upper into a pipe. Closing the reader
// early makes the differ fail on its next write and stop.
func diffStream(ctx context.Context, upper string, lowers []string, opts snapshot.DiffOptions) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		// Batch the tar's 512-byte headers and small files: each write to
		// the pipe is a handoff to the reading goroutine. The differ's 1
		// MiB chunks of big files are bigger: they go through uncopied.
		bw := bufio.NewWriterSize(pw, 128<<10)
		_, err := snapshot.Diff(ctx, upper, lowers, bw, opts)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	return pr
}
