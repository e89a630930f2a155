package solver

import (
	"fmt"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	"golang.org/x/sys/unix"

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

// apply sets the shm mount and the rlimits on spec.
func (s Sandbox) apply(spec *runner.Spec) {
	if s.ShmSize > 0 {
		spec.Mounts = append(spec.Mounts, runner.Mount{Type: "tmpfs", Source: "shm", Target: "/dev/shm",
			Options: []string{"nosuid", "nodev", "noexec", "mode=1777", "size=" + strconv.FormatInt(s.ShmSize, 10)}})
	}
	if len(s.Ulimits) == 0 {
		return
	}
	// The init gets the limits before it starts the command, which
	// inherits them (as runc sets them before its exec).
	started := spec.Started
	spec.Started = func(pid int) error {
		for _, u := range s.Ulimits {
			rl, err := u.GetRlimit()
			if err != nil {
				return err
			}
			lim := unix.Rlimit{Cur: rl.Soft, Max: rl.Hard}
			if err := unix.Prlimit(pid, rl.Type, &lim, nil); err != nil {
				return fmt.Errorf("setting ulimit %s: %w", u.Name, err)
			}
		}
		if started != nil {
			return started(pid)
		}
		return nil
	}
}
