package runner

import (
	"fmt"
	"syscall"

	"github.com/moby/sys/signal"
)

// ParseSignal reads a signal as docker does, with moby/sys/signal:
// "TERM", "SIGTERM", "sigterm", "15", "SIGRTMIN+3"; a number must name
// a signal of this platform. It is lade's one signal parser: kill -s,
// --stop-signal and STOPSIGNAL.
func ParseSignal(s string) (syscall.Signal, error) {
	sig, err := signal.ParseSignal(s)
	if err != nil || !signal.ValidSignalForPlatform(sig) {
		return 0, fmt.Errorf("invalid signal: %s", s)
	}
	return sig, nil
}
