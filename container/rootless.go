package container

import (
	"fmt"
	"strings"

	"github.com/lade-build/lade/internal/userns"
)

// rootlessLimits refuses resource limits that a rootless lade cannot
// enforce: in a user namespace cgroupfs belongs to the host's root, and
// lade does not yet place containers in a cgroup v2 subtree delegated to
// the user (systemd's Delegate=yes), so the limits would silently not
// apply. Containers without limits need no cgroup at all.
func rootlessLimits(r Resources) error {
	if !userns.Rootless() {
		return nil
	}
	var flags []string
	if r.Memory > 0 {
		flags = append(flags, "--memory")
	}
	if r.CPUs > 0 {
		flags = append(flags, "--cpus")
	}
	if r.PidsLimit > 0 {
		flags = append(flags, "--pids-limit")
	}
	if len(flags) == 0 {
		return nil
	}
	why := "this host has cgroup v1 hierarchies, which only root can write"
	if unifiedDir() == cgroupRoot {
		why = "lade does not use a delegated cgroup v2 subtree yet"
	}
	return fmt.Errorf("%s cannot be enforced rootless: %s (limits need root, or cgroup v2 with a subtree delegated to the user)", strings.Join(flags, ", "), why)
}
