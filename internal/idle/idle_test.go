package idle

import (
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestGoRunsAtNice19OnItsOwnThread(t *testing.T) {
	var wg sync.WaitGroup
	var prio int
	var tid int
	var err error
	Go(&wg, func() {
		tid = unix.Gettid()
		// getpriority returns 20-nice for a thread.
		prio, err = unix.Getpriority(unix.PRIO_PROCESS, tid)
	})
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if nice := 20 - prio; nice != 19 {
		t.Errorf("fn ran at nice %d, want 19", nice)
	}
	// The niced thread ends rather than running other goroutines later.
	task := "/proc/self/task/" + strconv.Itoa(tid)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(task); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the niced thread is still alive: it went back to Go's pool")
		}
	}
}
