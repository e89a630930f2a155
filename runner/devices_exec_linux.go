package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// execDevicesV1 returns the v1 devices cgroup whose rules spec's command
// starts under, its forking thread joined to it ("" for none: no v1
// devices hierarchy, or no rules). A container's own device rules live
// in its v2 cgroup, which a command is cloned into where it can be; but
// with a seccomp filter clone3 fails (docker's profile makes it ENOSYS,
// and the filter is on the forking thread already), and a move after the
// start would let the command run a moment without rules. The v1 cgroup
// is made on the first exec, with the same rules, and removed with the
// container's cgroups.
func execDevicesV1(spec *ExecSpec) (string, error) {
	if spec.AllDevices || spec.DeviceCgroup == "" || !deviceCgroups() || deviceMode == "bpf" {
		return "", nil
	}
	base := devicesV1Dir()
	if base == "" {
		return "", nil
	}
	dir := filepath.Join(base, spec.DeviceCgroup)
	if _, err := os.Stat(filepath.Join(dir, "tasks")); err == nil {
		return dir, nil
	}
	// Made under a temporary name and renamed (v1 cgroups can be), so a
	// concurrent exec never joins it before its rules are written.
	tmp := dir + ".new-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(deviceCgroupSeq.Add(1), 10)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", fmt.Errorf("device rules: %w", err)
	}
	if err := writeDeviceRulesV1(tmp, deviceRules(spec.Devices)); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("device rules for cgroup %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.Remove(tmp)
		if !errors.Is(err, os.ErrExist) && !errors.Is(err, unix.ENOTEMPTY) {
			return "", fmt.Errorf("device rules: %w", err)
		}
	}
	return dir, nil
}

// joinThread moves the calling thread into v1 cgroup dir ("" none).
func joinThread(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.WriteFile(filepath.Join(dir, "tasks"), []byte(strconv.Itoa(unix.Gettid())), 0); err != nil {
		return fmt.Errorf("joining cgroup %s: %w", dir, err)
	}
	return nil
}
