package container

import (
	"fmt"
	"strings"

	"github.com/docker/go-units"

	"github.com/lade-build/lade/runner"
)

// applyKernelOptions checks and records --shm-size, --ulimit and
// --sysctl.
func applyKernelOptions(c *Config, o *CreateOptions) error {
	if o.ShmSize != "" {
		n, err := ParseBytes(o.ShmSize)
		if err != nil || n <= 0 {
			return fmt.Errorf("invalid --shm-size %q", o.ShmSize)
		}
		c.ShmSize = n
	}
	if _, err := rlimits(o.Ulimits); err != nil {
		return err
	}
	c.Ulimits = o.Ulimits
	for _, kv := range o.Sysctls {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("invalid --sysctl %q: want KEY=VALUE", kv)
		}
		if err := namespacedSysctl(k, c.Network); err != nil {
			return err
		}
		if c.Sysctls == nil {
			c.Sysctls = map[string]string{}
		}
		c.Sysctls[k] = v
	}
	return nil
}

// rlimits reads docker's --ulimit values with go-units.
func rlimits(ulimits []string) ([]runner.Rlimit, error) {
	var out []runner.Rlimit
	for _, u := range ulimits {
		ul, err := units.ParseUlimit(u)
		if err != nil {
			return nil, fmt.Errorf("--ulimit: %w", err)
		}
		rl, err := runner.RlimitOf(ul)
		if err != nil {
			return nil, fmt.Errorf("--ulimit: %w", err)
		}
		out = append(out, rl)
	}
	return out, nil
}

// namespacedSysctl applies docker's rule: only sysctls of the
// container's own namespaces (IPC's kernel.msg*, sem, shm* and
// fs.mqueue.*; the network's net.*, not with the host's network).
func namespacedSysctl(k, network string) error {
	switch {
	case strings.HasPrefix(k, "kernel.msg"), k == "kernel.sem", strings.HasPrefix(k, "kernel.shm"), strings.HasPrefix(k, "fs.mqueue."):
		return nil
	case strings.HasPrefix(k, "net."):
		if network == "host" {
			return fmt.Errorf("sysctl %q not allowed in host network namespace", k)
		}
		return nil
	}
	return fmt.Errorf("sysctl %q is not in a separate kernel namespace", k)
}
