package cache

import (
	"context"
	"testing"
)

func TestGCLock(t *testing.T) {
	cs := newStore(t)
	ctx := context.Background()
	r1, err := cs.HoldGC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := cs.HoldGC(ctx) // shared holders coexist
	if err != nil {
		t.Fatal(err)
	}
	if !cs.GCBusy() {
		t.Fatal("GCBusy false while builds hold the lock")
	}
	waited := make(chan struct{})
	got := make(chan func())
	go func() {
		unlock, err := cs.LockGC(ctx, func() { close(waited) })
		if err != nil {
			t.Error(err)
		}
		got <- unlock
	}()
	<-waited // the exclusive lock must wait for both holders
	r1()
	r2()
	unlock := <-got
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := cs.HoldGC(cctx); err == nil {
		t.Fatal("HoldGC got the lock while a collection holds it")
	}
	unlock()
	if cs.GCBusy() {
		t.Fatal("GCBusy true after every holder left")
	}
}
