package flock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestWait(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	open := func() *os.File {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	holder := open()
	if err := Wait(context.Background(), holder, unix.LOCK_EX, nil); err != nil {
		t.Fatal(err)
	}

	// Held exclusively elsewhere: a shared waiter waits until ctx ends,
	// and says so once.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	calls := 0
	err := Wait(ctx, open(), unix.LOCK_SH, func() { calls++ })
	if !errors.Is(err, context.DeadlineExceeded) || calls != 1 {
		t.Fatalf("Wait on a held lock = %v, waiting called %d times; want deadline, 1", err, calls)
	}

	// Released meanwhile: the waiter gets it.
	waiter := open()
	done := make(chan error, 1)
	go func() { done <- Wait(context.Background(), waiter, unix.LOCK_EX, nil) }()
	holder.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not take the released lock")
	}
	if err := unix.Flock(int(open().Fd()), unix.LOCK_SH|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("lock not held by the waiter: %v", err)
	}
}
