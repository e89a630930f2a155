// Package flock waits for flock(2) locks. lade's lock files (the GC lock,
// cache mounts, the local build cache) are flocks: the kernel drops them
// when their holder dies, and closing the file releases them.
package flock

import (
	"context"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// pollEvery is how often a waiting lock is tried again.
const pollEvery = 20 * time.Millisecond

// Wait takes the lock how (unix.LOCK_SH or unix.LOCK_EX) on f. It polls
// rather than blocks, so that a cancelled ctx stops the wait. waiting, if
// not nil, is called once before the first wait.
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
		case <-time.After(pollEvery):
		}
	}
}
