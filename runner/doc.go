// Package runner runs one process in fresh Linux namespaces on a given root
// filesystem, without runc or a daemon.
//
// Lifecycle: the caller's main (or TestMain) calls Reexec first. Run then
// creates any missing mount targets inside Spec.Rootfs, re-executes the
// current binary (Runner.Self, /proc/self/exe by default) in new pid, UTS
// and IPC namespaces, and hands it the spec as JSON over a pipe. That child
// sees the marker, becomes the container init in Reexec: on reading the
// spec it unshares its mount (and with NetworkNone its network) namespace,
// mounts /proc, /dev, /sys and the spec mounts ("file" mounts, secrets,
// written to a tmpfs only its namespace has), pivots into the
// rootfs, switches credentials, marks every inherited fd close-on-exec and
// execs the user command, which thereby becomes pid 1 of the pid namespace.
// When it exits the kernel kills whatever it left running; Run reaps it,
// removes the mount stubs it created and returns the exit status.
//
// For `lade run` a Spec can also drop capabilities, set no_new_privs, mask
// and make paths read-only, make / read-only, and name cgroups the init
// joins itself once it has its spec (so lade's start is not charged to the
// container); Exec starts a further process inside a running container by
// joining its namespaces, from a thread that ends once the command started
// (so lade is never left in the container's memory cgroup, where the OOM
// killer would pick it). Builds leave those fields zero.
//
// A build's Runner has Prestart set: it keeps one init started ahead of
// need (Warm), blocked reading its spec, so the clone and the start of
// lade's Go runtime overlap the step before. Because the init copies the
// host's mounts only when its spec arrives, a spare sees the step's rootfs
// and bind sources though they were mounted after it started. A spare has
// /dev/null as stdin and one pipe for stdout and stderr; specs that need
// anything else (a terminal, a stdin, separate streams) start their own.
//
// Spec.Seccomp adds a seccomp filter in docker's profile format
// (seccomp.Default is docker's default): package seccomp compiles it to
// classic BPF and the init installs it on the thread that execs the
// command, before switching credentials (or, with no_new_privs, right
// before execve). Capability names and masks live in package caps.
//
// Unless Spec.AllDevices, the init runs under docker's default device
// allow-list (DefaultDeviceRules plus Spec.Devices): a cgroup of its own
// per Run with an eBPF device program on cgroup v2 (a build's spare is
// cloned into the next step's, made ahead of need), or the v1 devices
// controller for a named Spec.DeviceCgroup where there is one; the init
// joins it before it sets anything up.
//
// Also for `lade run`: Tty opens a terminal in the container's own devpts
// (in the init, after pivot_root) and passes its master back over a
// socket; Init makes pid 1 a small init that is lade again (reaperMain);
// CgroupNS unshares a cgroup namespace once the init is in its cgroups.
// The init is non-dumpable until it execs, Exec's fork child inherits
// non-dumpable from lade, and a container is reported running (Running)
// only after that execve, so nothing in a container gets to open a lade
// process's /proc/PID/exe (CVE-2019-5736).
package runner
