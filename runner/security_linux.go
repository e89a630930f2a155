package runner

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/lade-build/lade/runner/caps"
	"github.com/lade-build/lade/runner/seccomp"
	"golang.org/x/sys/unix"
)

// security is the hardening part of the init config; its zero value
// changes nothing.
type security struct {
	ReadonlyRootfs  bool     `json:"readonlyRootfs,omitempty"`
	MaskedPaths     []string `json:"maskedPaths,omitempty"`
	ReadonlyPaths   []string `json:"readonlyPaths,omitempty"`
	NoNewPrivileges bool     `json:"noNewPrivileges,omitempty"`
	LimitCaps       bool     `json:"limitCaps,omitempty"`
	Caps            uint64   `json:"caps,omitempty"`
	// Seccomp is the compiled filter. The container init has
	// CAP_SYS_ADMIN until it switches credentials, so without
	// no-new-privileges the filter goes on before that, as runc does:
	// setting no_new_privs ourselves would stop setuid binaries working in
	// the container, unlike docker. The syscalls the init then makes
	// (setgroups, setuid, capset, chdir, stat, execve, ...) are all in the
	// default profile; a custom profile must allow them too. With
	// no-new-privileges the filter goes on right before execve.
	Seccomp *seccomp.Filter `json:"seccomp,omitempty"`
}

// kept is the capability mask a seccomp profile's conditions see: every
// capability unless the spec limits them.
func (s security) kept() uint64 {
	if s.LimitCaps {
		return s.Caps
	}
	return ^uint64(0)
}

// applyPaths runs after pivot_root: read-only and masked paths, then the
// read-only root (last, since the others may need mount targets).
func applyPaths(s security) error {
	for _, p := range s.ReadonlyPaths {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("read-only path %s: %w", p, err)
		}
		if err := makeReadonly(p); err != nil {
			return fmt.Errorf("read-only path %s: %w", p, err)
		}
	}
	for _, p := range s.MaskedPaths {
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if fi.IsDir() {
			err = unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=0")
		} else {
			err = unix.Mount("/dev/null", p, "", unix.MS_BIND, "")
		}
		if err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	if s.ReadonlyRootfs {
		// Only the root mount itself: /proc, /dev and volumes stay as they are.
		err := unix.MountSetattr(-1, "/", unix.AT_SYMLINK_NOFOLLOW, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
		if errors.Is(err, unix.ENOSYS) {
			err = remountFlags("/", unix.MS_RDONLY)
		}
		if err != nil {
			return fmt.Errorf("make / read-only: %w", err)
		}
	}
	return nil
}

// dropBounding removes every capability outside the kept set from the
// bounding set (needs CAP_SETPCAP, so before the uid changes) and sets
// no_new_privs. Both are per thread; the init execs on this thread.
func dropBounding(s security) error {
	if s.LimitCaps {
		last := lastCap()
		for c := 0; c <= last; c++ {
			if s.Caps&(1<<uint(c)) != 0 {
				continue
			}
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
			}
		}
	}
	if s.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	return nil
}

// limitCaps trims the inheritable set; exec then derives root's permitted
// and effective sets from the bounding set, and a non-root user gets none.
func limitCaps(s security) error {
	if !s.LimitCaps {
		return nil
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	for i := range data {
		keep := uint32(s.Caps >> (32 * uint(i)))
		data[i].Inheritable &= keep
		data[i].Permitted &= keep
		data[i].Effective &= keep
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	// Ambient capabilities would survive exec for non-root users.
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	return nil
}

// lastCap is the highest capability number the kernel knows.
func lastCap() int {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return caps.Last()
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return caps.Last()
	}
	return n
}
