// Package binfmt makes programs of another architecture runnable in
// containers, through the kernel's binfmt_misc and qemu-user, as
// BuildKit and docker do with tonistiigi/binfmt.
//
// The solver (for a RUN step of a foreign --platform) and `lade run`
// (for an image of another architecture) call Prepare(platform) before
// they start the process; runner.Run does it for them when Spec.Platform
// is set. Prepare is idempotent and remembers a success per process. It
// accepts, in order: the host's own architecture (and its 32-bit compat
// one); an enabled binfmt_misc handler whose magic matches the platform's
// ELF header and that has the F (fix-binary) flag, which makes the kernel
// open the interpreter when it is registered, so it runs even inside a
// container's root (Debian's qemu-user-static registers such handlers);
// otherwise, as root, it mounts binfmt_misc when needed and registers one
// named lade-qemu-NAME itself: the interpreter, magic and mask of
// binfmt-support's description (/usr/share/binfmts/qemu-NAME) when that
// is installed, else qemu-NAME-static from $PATH with qemu's standard ELF
// rule. With no emulator it fails with one line naming the platform and
// the package to install (Package). A handler lade registered stays for
// later builds, like binfmt-support's.
//
// qemu-user translates the emulated program's syscalls into the host's,
// so the host's seccomp filter (runner/seccomp) applies unchanged.
//
// Architectures (OCI names): amd64, 386, arm64, arm (v5, v6, v7),
// ppc64le, s390x, riscv64, mips64le.
package binfmt
