// Package userns runs lade as an unprivileged user ("rootless"): lade
// then works as root of a user namespace that maps container root to the
// user and container ids 1..N to the user's subordinate range from
// /etc/subuid and /etc/subgid, through newuidmap/newgidmap (Debian's
// uidmap). Chown, setuid bits and every uid in a layer then come out as
// they do for real root.
//
// Lifecycle: main calls Enter right after the container-init dispatch.
// As root it does nothing. Otherwise the first lade command of a user
// starts a holder: lade again, cloned into a new user and mount namespace,
// which waits on a pipe until the parent has written its id maps and then
// only sleeps, keeping both namespaces alive (podman's pause process). The
// command itself, and every later one, execs nsenter(1), which runs lade
// again joined to the holder's namespaces, so containers that `run -d` left
// behind, their mounts and processes, are there for exec, stop, kill and
// rm. nsenter is the single-threaded step a Go program cannot be:
// setns(CLONE_NEWUSER) is refused to a multithreaded process. Without
// nsenter each command gets a namespace of its own (started the same way,
// then re-executing itself once mapped so that it holds full capabilities
// there) and says once that later commands cannot reach its containers;
// that parent forwards signals and exits with the child's status. An
// environment marker plus the uid_map check keep lade from recursing.
//
// Rootless reports whether lade runs in a user namespace at all (from
// /proc/self/uid_map), which is what the snapshotter (overlayfs with
// userxattr), the runner (no device cgroup) and the container runtime (no
// cgroup limits without delegation) ask.
package userns
