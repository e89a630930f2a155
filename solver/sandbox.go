package solver

import (
	"fmt"
	"strings"

	units "github.com/docker/go-units"

	"github.com/lade-build/lade/runner"
)

// Sandbox is what the build flags add around every RUN process, as
// buildx's --add-host, --ulimit and --shm-size do.
type Sandbox struct {
	// ExtraHosts are "HOST:IP" lines for /etc/hosts.
	ExtraHosts []string
	Ulimits    []*units.Ulimit
	// ShmSize is the size of /dev/shm in bytes; 0 keeps the runner's 64 MiB.
	ShmSize int64
}

// ParseExtraHost checks an --add-host value (HOST:IP or HOST=IP; the IP
// may be an IPv6 address) and returns it as HOST:IP.
func ParseExtraHost(s string) (string, error) {
	host, ip, ok := strings.Cut(s, "=")
	if !ok {
		host, ip, ok = strings.Cut(s, ":")
	}
	ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
	if !ok || host == "" || ip == "" || strings.ContainsAny(host, " \t\n") || strings.ContainsAny(ip, " \t\n") {
		return "", fmt.Errorf("invalid host %q: expected HOST:IP", s)
	}
	return host + ":" + ip, nil
}

// hostsLines are the /etc/hosts lines of the extra hosts.
func (s Sandbox) hostsLines() string {
	var b strings.Builder
	for _, h := range s.ExtraHosts {
		host, ip, _ := strings.Cut(h, ":")
		fmt.Fprintf(&b, "%s\t%s\n", ip, host)
	}
	return b.String()
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
