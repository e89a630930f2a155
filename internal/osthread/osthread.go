// Package osthread runs code on an OS thread of its own that ends with it,
// for work that changes its thread for good: joining a container's
// namespaces or cgroups, or lowering its priority.
package osthread

import (
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Run calls fn on a locked thread other than the process's main one and
// waits for it. The thread exits when fn returns instead of going back to
// Go's pool with whatever fn did to it. Never the main thread: Go cannot
// end that one (it parks it for good instead), and it stands for the
// whole process in places, as the owner of its memory in a v1 memory
// cgroup.
func Run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			fn()
			return // still locked: the thread exits
		}
		// With the main thread held here, the inner goroutine gets
		// another one.
		handoffs.Add(1)
		inner := make(chan struct{})
		go func() {
			defer close(inner)
			runtime.LockOSThread()
			fn()
		}()
		<-inner
		runtime.UnlockOSThread()
	}()
	<-done
}

// handoffs counts the calls that started on the main thread, for tests.
var handoffs atomic.Int64
