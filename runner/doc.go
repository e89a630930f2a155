// Package runner runs one process in fresh Linux namespaces on a given root
// filesystem, without runc or a daemon: Run (run_linux.go) for a build step
// or a container, Exec (exec_linux.go) for a further process in a running
// one. The container init is lade itself (init_linux.go, mounts_linux.go,
// security_linux.go); spare_linux.go keeps a build's next init started
// ahead of need; devices*.go hold docker's device allow-list and the
// device cgroup; tty_linux.go the terminal; reaper_linux.go the small pid 1
// of --init. The seccomp compiler is runner/seccomp, capability names
// runner/caps, foreign-architecture emulation (binfmt_misc and qemu)
// runner/binfmt.
//
// Lifecycle of Run: the caller's main (or TestMain) calls Reexec first.
// Run checks the Spec (prepare; with Spec.Platform, that this host can
// run that platform's programs), creates missing mount targets in the
// rootfs, and starts the init: lade re-executed in new pid, UTS and IPC
// namespaces (the host's with Spec.HostPID, HostIPC, HostUTS) (or a spare, with Runner.Prestart, or the one Launch started
// ahead of a container's Run), under docker's device allow-list unless
// Spec.AllDevices (a device cgroup per Run, or Spec.DeviceCgroup: cloned
// into it on cgroup v2, also on hybrid hosts; joined like Spec.Cgroups on
// v1, or when it is the caller's v2 cgroup, but with Spec.CgroupAtClone:
// moving a process costs an RCU grace period). The init reads its config from a pipe
// and, in order: sets Spec.OOMScoreAdj; joins Spec.Cgroups; unshares its mount (with NetworkNone
// its network, or joins Spec.NetNS; with CgroupNS its cgroup) namespace, so a spare sees mounts
// made after it started; mounts /proc, /dev, /sys and the spec's mounts
// ("file" mounts and secrets on a tmpfs only its namespace has); pivots
// into the rootfs; applies read-only and masked paths; opens the terminal
// in its own devpts (Tty); drops the bounding set; installs the seccomp
// filter (with no_new_privs: right before execve); switches credentials;
// closes inherited fds; execs the command, which becomes pid 1 (unless
// HostPID). Run
// reports Started before the config is sent and Running after execve,
// waits, removes the stubs (but with Spec.KeepMountTargets) and returns the exit status; when the command
// exits the kernel kills whatever it left running.
//
// Exec joins the init's namespaces from a thread of lade's own that ends
// once the command started, so lade never stays in the container's
// cgroups. The command is cloned into the container's v2 cgroup
// (ExecSpec.Cgroup) where clone3 is allowed; its device rules come from a
// v1 devices cgroup its thread joins first where the host has one (a
// seccomp filter makes clone3 fail), else from that v2 cgroup once
// Started moved it there. Until execve, inits and Exec's fork child are non-dumpable:
// nothing in a container can open a lade process's /proc/PID/exe
// (CVE-2019-5736). A build step gets docker's default capabilities,
// masked paths and seccomp filter (solver sets them); a `lade run`
// container may also set no_new_privs, a read-only root, cgroups, an init.
package runner
