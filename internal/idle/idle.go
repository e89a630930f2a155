// Package idle runs cleanup work (deleting a discarded snapshot or a
// duplicate blob) at the lowest CPU priority, so it takes what the build
// leaves over instead of slowing the steps it runs beside.
package idle

import (
	"sync"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/osthread"
)

// Go runs fn in the background at nice 19, counted in wg, on a thread
// that ends with fn rather than going back to Go's pool with that
// priority.
func Go(wg *sync.WaitGroup, fn func()) {
	wg.Go(func() {
		osthread.Run(func() {
			// Best effort: at worst fn runs at normal priority.
			_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), 19)
			fn()
		})
	})
}
