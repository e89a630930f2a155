package runner

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/userns"
)

// deviceCgroups reports whether RUN steps and containers get a device
// cgroup. Not in a user namespace (rootless): cgroupfs belongs to the
// host's root there, and none is needed, since the kernel refuses mknod
// of devices to a user namespace and opening a device in the bind-mounted
// /dev still takes the host's permission checks for the user.
func deviceCgroups() bool { return !userns.Rootless() }

// devptsOptions are the /dev/pts mount options: tty group 5 owns the
// terminals, as in docker, unless a user namespace has no gid 5 (a user
// without subordinate ids), where the kernel refuses gid=5.
func devptsOptions() string {
	const opts = "newinstance,ptmxmode=0666,mode=0620"
	if userns.Rootless() && !userns.Mapped("/proc/self/gid_map", 5) {
		return opts
	}
	return opts + ",gid=5"
}

// procMountError explains a refused /proc mount in a user namespace: the
// kernel only allows it while no path of the /proc lade sees is hidden
// under another mount, which container engines do by default.
func procMountError(err error) error {
	if userns.Rootless() && errors.Is(err, unix.EPERM) {
		return fmt.Errorf("mount /proc: %w: /proc is masked (over-mounted paths), which a user namespace cannot mount anew; run lade's container with /proc unmasked (docker: --security-opt systempaths=unconfined; Kubernetes: procMount: Unmasked)", err)
	}
	return fmt.Errorf("mount /proc: %w", err)
}

// setgroupsDenied reports a user namespace whose setgroups is denied (a
// user without subordinate ids maps itself alone, which needs that):
// there the process keeps the groups it has, as in podman.
func setgroupsDenied() bool {
	data, err := os.ReadFile("/proc/self/setgroups")
	return userns.Rootless() && err == nil && strings.TrimSpace(string(data)) == "deny"
}
