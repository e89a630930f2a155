package idle

import (
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func TestGoRunsAtNice19(t *testing.T) {
	var wg sync.WaitGroup
	var prio int
	var err error
	ran := false
	Go(&wg, func() {
		ran = true
		// getpriority gives 20-nice for a thread.
		prio, err = unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	})
	wg.Wait()
	if !ran || err != nil {
		t.Fatalf("ran %v, %v", ran, err)
	}
	if nice := 20 - prio; nice != 19 {
		t.Errorf("fn ran at nice %d, want 19", nice)
	}
	// The thread that ran it has ended: internal/osthread's tests.
}
