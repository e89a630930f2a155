// Package seccomp compiles docker's JSON seccomp profiles to classic BPF
// for x86_64 (and the i386 ABI when a profile lists it), as runc's
// libcontainer/seccomp does, without libseccomp.
//
// Lifecycle: Parse (or Default, docker's default profile, or ForContainer,
// a `lade run` container's choice) gives a Profile; the runtime compiles it
// with Compile (CompileForExec for a filter put on a thread of lade's own)
// for the capabilities the process keeps, ships the Filter to the
// container's init and there calls Install on the thread that execs the
// command. Compiled filters are memoized per profile and capability set.
// The syscall name tables (syscalls.go, syscalls_i386.go) are plain data.
package seccomp
