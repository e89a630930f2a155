package runner

// DefaultMaskedPaths and DefaultReadonlyPaths are docker's (and BuildKit's
// sandbox's) defaults for an unprivileged process: kernel interfaces a
// container has no business reading or writing.
var (
	DefaultMaskedPaths = []string{"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"}
	DefaultReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)
