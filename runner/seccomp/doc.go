// Package seccomp compiles docker's JSON seccomp profiles to classic BPF
// for x86_64 and aarch64 hosts (with their compat ABIs, i386 and arm, when
// a profile admits them through archMap as docker's default does), as
// runc's libcontainer/seccomp does, without libseccomp.
//
// Lifecycle: Parse (or Default, docker's default profile, or ForContainer,
// a `lade run` container's choice) gives a Profile; the runtime compiles it
// with Compile (CompileForExec for a filter put on a thread of lade's own)
// for the capabilities the process keeps, ships the Filter to the
// container's init and there calls Install on the thread that execs the
// command. Compiled filters are memoized per profile and capability set.
//
// The filter is for the host's architecture (runtime.GOARCH); compile
// takes it as an argument, so every architecture's program can be built
// and evaluated on any build host. A foreign-architecture program run by
// qemu-user (see runner/binfmt) makes the host's syscalls, so the host's
// filter applies to it unchanged. The syscall tables are data,
// tables/GOARCH.txt, generated from golang.org/x/sys/unix by mktables.go
// (`go generate ./runner/seccomp`).
package seccomp
