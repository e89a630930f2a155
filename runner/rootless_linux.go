package runner

import "github.com/lade-build/lade/internal/userns"

// deviceCgroups reports whether RUN steps and containers get a device
// cgroup. Not in a user namespace (rootless): cgroupfs belongs to the
// host's root there, and none is needed, since the kernel refuses mknod
// of devices to a user namespace and opening a device in the bind-mounted
// /dev still takes the host's permission checks for the user.
func deviceCgroups() bool { return !userns.Rootless() }
