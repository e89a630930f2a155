// Package flock takes flock(2) locks the way every lade lock wants them:
// polling, so a cancelled command stops waiting, instead of blocking in
// the kernel. It serves the GC lock of a root and the lock of each cache
// mount. A flock belongs to the open file: closing the file releases it,
// and so does the death of its holder.
package flock

import (
	"context"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// poll is how often a waiting lock is tried again.
const poll = 20 * time.Millisecond

// Wait takes the lock how (unix.LOCK_SH or unix.LOCK_EX) on f, trying again
// until it is free or ctx ends. waiting, if not nil, is called once before
// the first wait.
func Wait(ctx context.Context, f *os.File, how int, waiting func()) error {
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return err
		}
		if waiting != nil {
			waiting()
			waiting = nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// With runs fn holding the lock how on the file at path (created 0600 if
// missing) and releases it when fn returns.
func With(ctx context.Context, path string, how int, fn func() error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer f.Close() // closing drops the flock
	if err := Wait(ctx, f, how, nil); err != nil {
		return err
	}
	return fn()
}
