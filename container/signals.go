package container

import (
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/runner"
)

// proxied are the signals ProxySignals passes on: the init's set but
// SIGPIPE (lade's own output closed) and SIGPROF (lade's profiler).
var proxied = slices.DeleteFunc(slices.Clone(runner.ForwardedSignals), func(s os.Signal) bool {
	return s == unix.SIGPIPE || s == unix.SIGPROF
})

// SignalProxy passes the signals lade receives on to a container's
// process, as docker's --sig-proxy does: ^C or a SIGTERM then reaches the
// container's handler, and lade goes on to report the container's exit
// status.
type SignalProxy struct {
	ch      chan os.Signal
	done    chan struct{}
	enabled chan struct{} // closed once the signals come to ch
	ending  atomic.Bool
	mu      sync.Mutex
	pid     int              // the process to signal; 0 while there is none
	pending []syscall.Signal // received while pid was 0
}

// ProxySignals starts passing signals on, until Stop, to the process
// SetPid names. A signal that comes while there is none waits for it: a
// ^C right after start is not lost. Taking the signals is a round trip to
// the runtime's signal thread for each (tens of µs, more under load): it
// is done beside the container's start, not before it.
func ProxySignals() *SignalProxy {
	p := &SignalProxy{ch: make(chan os.Signal, 64), done: make(chan struct{}), enabled: make(chan struct{})}
	go func() {
		signal.Notify(p.ch, proxied...)
		close(p.enabled)
		for {
			select {
			case <-p.done:
				return
			case sig := <-p.ch:
				p.forward(sig.(syscall.Signal))
			}
		}
	}()
	return p
}

func (p *SignalProxy) forward(sig syscall.Signal) {
	switch sig {
	case unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT:
		p.ending.Store(true)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pid == 0 {
		p.pending = append(p.pending, sig)
		return
	}
	_ = unix.Kill(p.pid, sig)
}

// SetPid names the host pid to signal from now on, 0 once it ended, and
// delivers what came meanwhile.
func (p *SignalProxy) SetPid(pid int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pid = pid
	if pid == 0 {
		return
	}
	for _, sig := range p.pending {
		_ = unix.Kill(pid, sig)
	}
	p.pending = nil
}

// Ending reports whether a signal asked lade to end (SIGINT, SIGTERM,
// SIGHUP, SIGQUIT): the container is then not restarted once it exits.
func (p *SignalProxy) Ending() bool { return p != nil && p.ending.Load() }

// Stop ends the forwarding. The signals go back to their default
// handling in the background, as slowly as they were taken.
func (p *SignalProxy) Stop() {
	if p == nil {
		return
	}
	close(p.done)
	go func() {
		<-p.enabled
		signal.Stop(p.ch)
	}()
}
