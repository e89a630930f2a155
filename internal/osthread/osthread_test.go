package osthread

import (
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// gone waits until thread tid of this process has exited.
func gone(t *testing.T, tid int) {
	t.Helper()
	task := "/proc/self/task/" + strconv.Itoa(tid)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(task); os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d is still alive: it went back to Go's pool", tid)
		}
	}
}

// Run's goroutine lands on the main thread now and then (Go schedules
// goroutines there like on any thread): calls keep coming until one did,
// and none of them may run fn there or leave its thread alive.
func TestRunEndsItsThread(t *testing.T) {
	deadline := time.Now().Add(20 * time.Second)
	for round := 0; handoffs.Load() == 0 || round < 3; round++ {
		if time.Now().After(deadline) {
			t.Fatal("no call started on the main thread in 20 s: the hand-off went untested")
		}
		var wg sync.WaitGroup
		tids := make([]int, 64)
		for i := range tids {
			wg.Go(func() {
				Run(func() { tids[i] = unix.Gettid() })
			})
		}
		wg.Wait()
		for _, tid := range tids {
			if tid == unix.Getpid() {
				t.Fatal("fn ran on the main thread")
			}
			gone(t, tid)
		}
	}
	t.Logf("%d calls started on the main thread", handoffs.Load())
}
