package seccomp

import (
	"testing"

	"github.com/lade-build/lade/runner/caps"
)

// The default filter compiled for an arm64 host: aarch64 syscalls by
// their own numbers, arm ones through docker's archMap, anything else
// killed. These run on any build host: compile takes the host's GOARCH.
func TestDefaultSeccompArm64(t *testing.T) {
	withAdmin := append(append([]string(nil), caps.Default...), "CAP_SYS_ADMIN")
	cloneVfork := uint64(0x4000 | 0x100 | 17)
	cloneUserNS := uint64(0x10000000 | 17)
	for _, tc := range []struct {
		name string
		abi  abi
		caps []string
		call string
		nr   uint32 // used when call is ""
		args []uint64
		want uint32
	}{
		{name: "read", abi: abiAArch64, call: "read", want: retAllow},
		{name: "openat", abi: abiAArch64, call: "openat", want: retAllow},
		{name: "newfstatat", abi: abiAArch64, call: "newfstatat", want: retAllow},
		{name: "uname", abi: abiAArch64, call: "uname", want: retAllow},
		{name: "keyctl denied", abi: abiAArch64, call: "keyctl", want: errnoEPERM},
		{name: "mount needs SYS_ADMIN", abi: abiAArch64, call: "mount", want: errnoEPERM},
		{name: "mount with SYS_ADMIN", abi: abiAArch64, caps: withAdmin, call: "mount", want: retAllow},
		{name: "clone vfork", abi: abiAArch64, call: "clone", args: []uint64{cloneVfork}, want: retAllow},
		{name: "clone new user ns", abi: abiAArch64, call: "clone", args: []uint64{cloneUserNS}, want: errnoEPERM},
		{name: "clone3 is ENOSYS", abi: abiAArch64, call: "clone3", want: errnoENOSYS},
		{name: "personality query", abi: abiAArch64, call: "personality", args: []uint64{0xffffffff}, want: retAllow},
		{name: "personality no randomize", abi: abiAArch64, call: "personality", args: []uint64{0x40000}, want: errnoEPERM},
		{name: "socket vsock", abi: abiAArch64, call: "socket", args: []uint64{40}, want: errnoEPERM},
		// no x32 on aarch64: the bit is just an unknown number
		{name: "x32 bit is no ABI", abi: abiAArch64, nr: x32SyscallBit | 63, want: errnoEPERM},
		// arm's numbers are another table: 4 is write, 192 mmap2
		{name: "arm write", abi: abiARM, call: "write", want: retAllow},
		{name: "arm mmap2", abi: abiARM, call: "mmap2", want: retAllow},
		{name: "arm set_tls", abi: abiARM, call: "set_tls", want: retAllow},
		{name: "arm cacheflush", abi: abiARM, call: "cacheflush", want: retAllow},
		{name: "arm fadvise", abi: abiARM, call: "arm_fadvise64_64", want: retAllow},
		{name: "arm keyctl denied", abi: abiARM, call: "keyctl", want: errnoEPERM},
		{name: "arm clone new user ns", abi: abiARM, call: "clone", args: []uint64{cloneUserNS}, want: errnoEPERM},
		{name: "x86_64 is killed", abi: abiX86_64, call: "read", want: retKillProcess},
		{name: "i386 is killed", abi: abiX86, call: "write", want: retKillProcess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kept := tc.caps
			if kept == nil {
				kept = caps.Default
			}
			n := tc.nr
			if tc.call != "" {
				var ok bool
				if n, ok = tc.abi.syscalls()[tc.call]; !ok {
					t.Fatalf("no %s syscall %q", tc.abi.scmp, tc.call)
				}
			}
			prog := mustCompileFor(t, Default(), kept, kernelVersion{6, 1}, "arm64")
			if got := evalBPF(t, prog, seccompData(tc.abi.audit, n, tc.args...)); got != tc.want {
				t.Errorf("filter returned %#x, want %#x", got, tc.want)
			}
		})
	}
}

// docker's archMap semantics: a compat ABI is admitted only when the
// profile lists it for the host's native architecture, and "arches"
// conditions are decided by the host's GOARCH.
func TestSeccompArchSelection(t *testing.T) {
	eperm := uint(1)
	deny := func(arches ...string) Syscall {
		return Syscall{Names: []string{"getpid"}, Action: ActErrno, ErrnoRet: &eperm, Includes: &Condition{Arches: arches}}
	}
	for _, tc := range []struct {
		name   string
		p      *Profile
		goarch string
		abi    abi
		want   uint32
	}{
		{"native only", &Profile{DefaultAction: ActAllow}, "arm64", abiAArch64, retAllow},
		{"arm not admitted", &Profile{DefaultAction: ActAllow}, "arm64", abiARM, retKillProcess},
		{"arm in architectures", &Profile{DefaultAction: ActAllow, Architectures: []string{"SCMP_ARCH_ARM"}}, "arm64", abiARM, retAllow},
		{"arm in x86_64's archMap", &Profile{DefaultAction: ActAllow, ArchMap: []ArchMap{
			{Architecture: "SCMP_ARCH_X86_64", SubArchitectures: []string{"SCMP_ARCH_ARM"}}}}, "arm64", abiARM, retKillProcess},
		{"x86 in aarch64's archMap", &Profile{DefaultAction: ActAllow, ArchMap: []ArchMap{
			{Architecture: "SCMP_ARCH_AARCH64", SubArchitectures: []string{"SCMP_ARCH_X86"}}}}, "amd64", abiX86, retKillProcess},
		{"rule for arm64 on arm64", &Profile{DefaultAction: ActAllow, Syscalls: []Syscall{deny("arm64")}}, "arm64", abiAArch64, errnoEPERM},
		{"rule for arm64 on amd64", &Profile{DefaultAction: ActAllow, Syscalls: []Syscall{deny("arm64")}}, "amd64", abiX86_64, retAllow},
		{"rule for amd64 on amd64", &Profile{DefaultAction: ActAllow, Syscalls: []Syscall{deny("amd64")}}, "amd64", abiX86_64, errnoEPERM},
	} {
		prog := mustCompileFor(t, tc.p, nil, kernelVersion{6, 1}, tc.goarch)
		if got := evalBPF(t, prog, seccompData(tc.abi.audit, tc.abi.syscalls()["getpid"])); got != tc.want {
			t.Errorf("%s: %s getpid: %#x, want %#x", tc.name, tc.abi.scmp, got, tc.want)
		}
	}
	if _, err := compile(Default(), ^uint64(0), kernelVersion{6, 1}, "riscv64"); err == nil {
		t.Error("compiled for riscv64, which has no table")
	}
}

// lade's own thread must survive the default filter on either host.
func TestCheckExecThreadArches(t *testing.T) {
	for goarch := range families {
		prog := mustCompileFor(t, Default(), nil, kernelVersion{6, 1}, goarch)
		if err := checkExecThread(prog, goarch); err != nil {
			t.Errorf("%s: %v", goarch, err)
		}
		for _, name := range execThreadSyscalls {
			if _, ok := families[goarch][0].syscalls()[name]; !ok {
				t.Errorf("%s has no %s", goarch, name)
			}
		}
	}
}
