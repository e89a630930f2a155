// Package idle runs cleanup work (deleting a discarded snapshot or a
// duplicate blob) at the lowest CPU priority, so it takes what the build
// leaves over instead of slowing the steps it runs beside.
package idle

import (
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// Go runs fn on a thread of its own at nice 19, counted in wg. The thread
// ends with fn rather than going back to Go's pool with that priority.
func Go(wg *sync.WaitGroup, fn func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			niced(fn)
			return
		}
		// The main thread cannot end (Go parks it for good instead): with
		// it held, the inner goroutine gets another thread.
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread()
			niced(fn)
		}()
		<-done
		runtime.UnlockOSThread()
	}()
}

// niced runs fn at nice 19 on the calling locked thread, which its
// goroutine must then end without unlocking.
func niced(fn func()) {
	// Best effort: at worst fn runs at normal priority.
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), 19)
	fn()
}
