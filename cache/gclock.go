package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/flock"
)

// The GC lock is the liveness rule of the whole lade root.
//
// Every process that adds to the root or relies on something not yet
// referenced by an image, a container or a cache record holds
// gc.lock beside the content dir (<root>/gc.lock) shared while it does so: `lade build` for the whole
// build (from resolving the base image to the last export), and the image
// store's writers (tag, pull, load, import) while they copy blobs in and
// record the image. Garbage collection holds it exclusively, so it runs
// only while no such process is in flight: it waits for running builds,
// and a build started meanwhile waits for it. Everything a collection sees
// is therefore either referenced (by an image in the image store, a
// container's config, a cache key record) or garbage; there is no window
// in which a half-built result is unreferenced but still needed.
//
// flock locks belong to the open file, so two builds in one process are
// independent holders, and a crashed holder releases its lock.

const gcLockName = "gc.lock"

// HoldGC takes the GC lock shared and returns its release. It waits while
// a collection runs.
func (s *Store) HoldGC(ctx context.Context) (func(), error) {
	return s.lockGC(ctx, unix.LOCK_SH, nil)
}

// LockGC takes the GC lock exclusively, waiting for every holder (running
// builds) to finish; waiting, if not nil, is called once before waiting.
func (s *Store) LockGC(ctx context.Context, waiting func()) (func(), error) {
	return s.lockGC(ctx, unix.LOCK_EX, waiting)
}

// gcLockPath is beside the content dir: the lock guards the whole root,
// and content/ holds nothing but blobs and their ingests.
func (s *Store) gcLockPath() string { return filepath.Join(filepath.Dir(s.root), gcLockName) }

func (s *Store) lockGC(ctx context.Context, how int, waiting func()) (func(), error) {
	f, err := os.OpenFile(s.gcLockPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening gc lock: %w", err)
	}
	if err := flock.Wait(ctx, f, how, waiting); err != nil {
		f.Close()
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("locking gc lock: %w", err)
	}
	return func() { f.Close() }, nil // closing drops the flock
}

// GCBusy reports whether some process holds the GC lock (a build runs).
func (s *Store) GCBusy() bool {
	f, err := os.OpenFile(s.gcLockPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return false
	}
	defer f.Close()
	return errors.Is(unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB), unix.EWOULDBLOCK)
}
