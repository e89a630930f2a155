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
	path := filepath.Join(t.TempDir(), "lock")
	holder, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if err := unix.Flock(int(holder.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		how  int
	}{{"shared", unix.LOCK_SH}, {"exclusive", unix.LOCK_EX}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			waited := 0
			ran := false
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			err = Wait(ctx, f, tt.how, func() { waited++ })
			if !errors.Is(err, context.DeadlineExceeded) || waited != 1 {
				t.Fatalf("Wait on a held lock = %v after %d waiting calls, want deadline after 1", err, waited)
			}
			err = With(ctx, path, tt.how, func() error { ran = true; return nil })
			if err == nil || ran {
				t.Fatalf("With on a held lock ran fn (err %v)", err)
			}
		})
	}
	holder.Close() // releases the lock
	ran := false
	if err := With(context.Background(), path, unix.LOCK_EX, func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("With on a free lock: ran %v, err %v", ran, err)
	}
}
