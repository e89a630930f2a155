package runner

import (
	"io"
	"os"
	"sync"

	units "github.com/docker/go-units"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/runner/seccomp"
)

// Runner starts containers by re-executing a lade binary as their init.
type Runner struct {
	// Self is the binary to re-exec as the container init; it must call
	// Reexec first thing in main. Empty means "/proc/self/exe".
	Self string
	// Prestart keeps one init started ahead of need (see Warm), for a
	// build's run of RUN steps; Close must then be called.
	Prestart bool

	mu    sync.Mutex
	spare *proc // started, waiting for its config; nil when none
	// launched is the init Launch started for the next Run.
	launched *launched
	filling  bool
	closed   bool
	fills    sync.WaitGroup
}

// New returns a Runner that re-executes the running binary.
func New() *Runner { return &Runner{Self: "/proc/self/exe"} }

// Network selects the network namespace of the container.
type Network int

const (
	// NetworkHost shares the host network namespace (default for builds).
	NetworkHost Network = iota
	// NetworkNone gives the container a new network namespace holding only
	// the loopback interface, brought up.
	NetworkNone
	// NetworkPrivate is what `lade run` calls its default: today the same
	// as NetworkNone (own namespace, loopback up).
	NetworkPrivate = NetworkNone
)

// Mount is an extra mount applied inside the container after the standard
// /proc, /dev and /sys mounts.
type Mount struct {
	Type    string   // "bind", "tmpfs" or "file"
	Source  string   // host path for bind (file or dir)
	Target  string   // absolute path inside the container
	Options []string // "ro", "rw", "nosuid", "nodev", "noexec", and for tmpfs and file "mode=0700", "uid=..", "gid=..", for tmpfs "size=64m"
	// Data is the content of a "file" mount: a regular file the init
	// writes to a tmpfs of the container's own mount namespace and binds
	// at Target. It never exists on the host (secrets), and it goes with
	// the container, even when lade is killed.
	Data []byte
}

// Rlimit is one resource limit (unix.RLIMIT_NOFILE...) for the command.
type Rlimit struct {
	Type int    `json:"type"`
	Soft uint64 `json:"soft"`
	Hard uint64 `json:"hard"`
}

// RlimitOf is a docker --ulimit value, as go-units parsed it, in the form
// the init sets (for containers and RUN steps alike).
func RlimitOf(u *units.Ulimit) (Rlimit, error) {
	rl, err := u.GetRlimit()
	if err != nil {
		return Rlimit{}, err
	}
	return Rlimit{Type: rl.Type, Soft: rl.Soft, Hard: rl.Hard}, nil
}

// Spec describes the one process Run starts.
type Spec struct {
	// Rootfs is an already-mounted, writable root filesystem directory.
	Rootfs string
	// Args is argv. An Args[0] without "/" is looked up in the PATH from Env
	// inside the rootfs (a standard PATH is used for the lookup when Env has
	// none).
	Args []string
	// Env is exactly the process environment; the host env never leaks in.
	Env []string
	// Cwd is the absolute working directory; it must exist.
	Cwd            string
	UID, GID       uint32
	AdditionalGIDs []uint32
	// Hostname is set in the new UTS namespace; empty keeps the host's.
	Hostname string
	// Domainname is the NIS domain name set in the new UTS namespace.
	Domainname string
	// HostPID, HostIPC and HostUTS share the host's pid, IPC and UTS
	// namespaces instead of new ones (docker's --pid/--ipc/--uts host).
	HostPID, HostIPC, HostUTS bool
	// OOMScoreAdj, when set, is the init's (and so the command's)
	// /proc/PID/oom_score_adj.
	OOMScoreAdj *int
	Network     Network
	// NetNS, with NetworkNone, is a network namespace (a path such as
	// /proc/PID/fd/N) the container joins instead of a new one: its
	// supervisor made it and wired its interfaces beforehand.
	NetNS string
	// Mounts are applied in order after the standard mounts.
	Mounts []Mount
	// Stdin nil means /dev/null.
	Stdin          io.Reader
	Stdout, Stderr io.Writer

	// The fields below are for `lade run`; their zero values keep the
	// build behaviour (all of root's capabilities, a writable root).

	// Started, when set, gets the init's host pid after it started and
	// before it runs the command; an error aborts the container. (Cgroups
	// are for cgroup placement.)
	Started func(pid int) error
	// ReadonlyRootfs makes the container's / read-only.
	ReadonlyRootfs bool
	// MaskedPaths are hidden: /dev/null over files, an empty read-only
	// tmpfs over directories. Missing paths are skipped.
	MaskedPaths []string
	// ReadonlyPaths are made read-only. Missing paths are skipped.
	ReadonlyPaths []string
	// Capabilities, when non-nil, is the exact set ("CAP_CHOWN", ...) the
	// command keeps in its bounding, permitted, effective and inheritable
	// sets; nil keeps everything.
	Capabilities []string
	// NoNewPrivileges sets no_new_privs so setuid binaries gain nothing.
	NoNewPrivileges bool
	// Platform, when set, is the platform of the rootfs's programs: Run
	// first makes sure this host can run them (binfmt.Prepare: natively
	// or through qemu) and fails before starting anything when it cannot.
	Platform *v1.Platform
	// Seccomp, when set, is the seccomp filter the command runs under
	// (see seccomp.ForContainer); its capability conditions follow
	// Capabilities.
	Seccomp *seccomp.Profile
	// KeepMountTargets leaves the mount targets Run created in the rootfs
	// (empty files and directories) when it returns, for a rootfs that is
	// thrown away right after (a --rm container's): their removal is disk
	// writes the discard makes again.
	KeepMountTargets bool
	// Running, when set, gets the init's host pid once the init has
	// exec'd the command (or exited): from then on nothing of lade's runs
	// in the container, so it is safe to join (exec) and to report.
	Running func(pid int) error

	// Tty gives the command a new pseudo-terminal of the container's
	// devpts as controlling terminal and stdin, stdout and stderr. Stdin
	// is copied to it and its output to Stdout; Stderr is not used.
	Tty bool
	// TtySize is the terminal's size at start; zero leaves the kernel's.
	TtySize WindowSize
	// Console, with Tty, gets the terminal's master once it exists (to
	// follow window size changes); it must not close it.
	Console func(master *os.File)
	// ShmSize is /dev/shm's size in bytes; 0 is docker's 64MiB.
	ShmSize int64
	// Rlimits are set on the command (docker's --ulimit).
	Rlimits []Rlimit
	// Sysctls are written under the container's /proc/sys (key in dotted
	// form) before it is made read-only; only namespaced ones make sense.
	Sysctls map[string]string
	// Init runs a minimal init as pid 1 (lade itself, bound read-only at
	// /dev/init, or run from there by its host's loader when dynamically
	// linked) that starts the command as its child, forwards signals to it
	// and reaps orphaned processes.
	Init bool
	// Cgroups are cgroup directories (v1 hierarchies or v2) the init
	// moves itself into once it has its spec, before it sets anything up.
	// Joining then, not at clone, keeps the start of lade's runtime off
	// the container's memory charge: only what the init touches from then
	// on until it execs the command counts against the limit.
	Cgroups []string
	// CgroupAtClone lets the init start in the v2 one of Cgroups (cloned
	// into it) rather than join it with its spec, for a cgroup without
	// limits that lade's start could hit or be slowed by: moving a
	// process between cgroups waits for an RCU grace period, milliseconds.
	CgroupAtClone bool
	// CgroupNS gives the container its own cgroup namespace, rooted where
	// the init is once it joined Cgroups and Started returned.
	CgroupNS bool

	// AllDevices lifts the device allow-list (`--privileged`, `RUN
	// --security=insecure`): the command may open any device node it can
	// create. Otherwise the init joins a cgroup that enforces
	// DefaultDeviceRules and Devices (the v1 devices controller, or an
	// eBPF program on cgroup v2), and a denied open fails with EPERM.
	AllDevices bool
	// Devices are host device nodes created in the container and allowed
	// with their access (`lade run --device`).
	Devices []Device
	// DeviceCgroup names the cgroup of the device rules relative to each
	// hierarchy's root ("lade/ID"), for a caller that must find it again
	// (exec starts its commands in it: ExecSpec.DeviceCgroup and Cgroup);
	// empty makes a fresh one per Run. Run removes the cgroup when it
	// created it.
	DeviceCgroup string
}

// WindowSize is a terminal's size in characters.
type WindowSize struct {
	Rows, Cols uint16
}

// Exit codes Run reports when the command could not be started.
const (
	ExitNotFound      = 127 // no such file or not in $PATH
	ExitNotExecutable = 126 // found but cannot be executed
)

// defaultPath is used to look Args[0] up when Env has no PATH.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
