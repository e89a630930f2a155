package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// setRlimits applies the limits in the init, which the command inherits;
// run while the init still has CAP_SYS_RESOURCE, so hard limits may rise.
func setRlimits(limits []Rlimit) error {
	for _, l := range limits {
		if err := unix.Setrlimit(l.Type, &unix.Rlimit{Cur: l.Soft, Max: l.Hard}); err != nil {
			return fmt.Errorf("setrlimit %d: %w", l.Type, err)
		}
	}
	return nil
}

// writeSysctls writes each key's value under /proc/sys of the container
// (after pivot_root, before /proc/sys turns read-only).
func writeSysctls(sysctls map[string]string) error {
	for k, v := range sysctls {
		p := filepath.Join("/proc/sys", strings.ReplaceAll(k, ".", "/"))
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			return fmt.Errorf("sysctl %s=%s: %w", k, v, err)
		}
	}
	return nil
}
