package container

import (
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// lockFds dups every fd of this process open on p, as a child forked
// at that moment holds them until it execs; the returned func closes the
// copies.
func lockFds(t *testing.T, p string) func() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var dups []int
	for _, e := range ents {
		fd, _ := strconv.Atoi(e.Name())
		if target, _ := os.Readlink("/proc/self/fd/" + e.Name()); target == p {
			d, err := unix.Dup(fd)
			if err != nil {
				t.Fatal(err)
			}
			dups = append(dups, d)
		}
	}
	if len(dups) == 0 {
		t.Fatalf("no fd open on %s", p)
	}
	return func() {
		for _, d := range dups {
			unix.Close(d)
		}
	}
}

// TestSupervisorLock: a released supervisor lock is free at once, even
// while a forked child still holds a copy of its fd (lade serve forks
// shims while it creates other containers under their lock), and
// probing the lock never makes a supervisor taking it fail.
func TestSupervisorLock(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *Store, id string)
	}{
		{"released while a fork holds its fd", func(t *testing.T, s *Store, id string) {
			unlock, err := s.lockSupervisor(id)
			if err != nil {
				t.Fatal(err)
			}
			if !s.supervised(id) {
				t.Fatal("held lock: not supervised")
			}
			closeDups := lockFds(t, filepath.Join(s.Dir(id), "supervisor.lock"))
			defer closeDups()
			unlock()
			if s.supervised(id) {
				t.Fatal("released lock still reads as supervised")
			}
			again, err := s.lockSupervisor(id)
			if err != nil {
				t.Fatalf("taking the released lock: %v", err)
			}
			again()
		}},
		{"probes race a supervisor", func(t *testing.T, s *Store, id string) {
			done := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 100000; i++ {
						select {
						case <-done:
							return
						default:
							s.supervised(id)
						}
					}
				}()
			}
			defer wg.Wait()
			defer close(done)
			for i := range 2000 {
				unlock, err := s.lockSupervisor(id)
				if err != nil {
					t.Fatalf("lock %d with probes running: %v", i, err)
				}
				unlock()
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			id := NewID()
			if err := os.MkdirAll(s.Dir(id), 0o700); err != nil {
				t.Fatal(err)
			}
			tt.run(t, s, id)
		})
	}
}
