// Package caps names Linux capabilities: the list lade knows, docker's
// default set for a container, and the bit masks the runtime and the
// seccomp compiler use. It holds data and pure functions only.
package caps

import (
	"fmt"
	"strings"
)

// names lists Linux capabilities by number.
var names = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// Default is the set docker grants a container.
var Default = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// All returns every capability name lade knows.
func All() []string { return append([]string(nil), names...) }

// Normalize turns "chown", "CHOWN" or "cap_chown" into
// "CAP_CHOWN", and reports whether lade knows it ("ALL" is accepted too).
func Normalize(name string) (string, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if n == "ALL" {
		return n, nil
	}
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	for _, c := range names {
		if c == n {
			return n, nil
		}
	}
	return "", fmt.Errorf("unknown capability %q", name)
}

// Set turns names into a bit mask, bit n for capability number n.
func Set(list []string) (uint64, error) {
	var set uint64
	for _, name := range list {
		n, err := Normalize(name)
		if err != nil {
			return 0, err
		}
		for i, c := range names {
			if c == n || n == "ALL" {
				set |= 1 << uint(i)
			}
		}
	}
	return set, nil
}

// Last is the highest capability number lade knows.
func Last() int { return len(names) - 1 }
