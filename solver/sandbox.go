package solver

import (
	"fmt"

	units "github.com/docker/go-units"

	"github.com/lade-build/lade/network"
	"github.com/lade-build/lade/runner"
)

// Sandbox is what the build flags add around every RUN process, as
// buildx's --add-host, --ulimit and --shm-size do.
type Sandbox struct {
	// ExtraHosts are NAME:IP lines for /etc/hosts (network.ParseExtraHost).
	ExtraHosts []string
	Ulimits    []*units.Ulimit
	// ShmSize is the size of /dev/shm in bytes; 0 keeps the runner's 64 MiB.
	ShmSize int64
}

// hostsLines are the /etc/hosts lines of the extra hosts. RUN shares the
// host's network, so host-gateway is the host's loopback.
func (s Sandbox) hostsLines() string {
	return network.HostsLines(s.ExtraHosts, "127.0.0.1")
}

// key describes the sandbox for a RUN step's cache key; "" when it adds
// nothing, so the keys of builds without these flags stay as they were.
func (s Sandbox) key() string {
	if len(s.ExtraHosts) == 0 && len(s.Ulimits) == 0 && s.ShmSize == 0 {
		return ""
	}
	var ul []string
	for _, u := range s.Ulimits {
		ul = append(ul, u.String())
	}
	return fmt.Sprintf("hosts=%q ulimits=%q shm=%d", s.ExtraHosts, ul, s.ShmSize)
}

// apply hands the shm size and the rlimits to the runner, whose init
// sets them before the command starts, as it does for containers.
func (s Sandbox) apply(spec *runner.Spec) error {
	if s.ShmSize > 0 {
		spec.ShmSize = s.ShmSize
	}
	for _, u := range s.Ulimits {
		rl, err := runner.RlimitOf(u)
		if err != nil {
			return fmt.Errorf("--ulimit %s: %w", u, err)
		}
		spec.Rlimits = append(spec.Rlimits, rl)
	}
	return nil
}
