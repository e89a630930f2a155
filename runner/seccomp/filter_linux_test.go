package seccomp

import (
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The host's table must agree with the kernel ABI golang.org/x/sys
// describes for it (the names here exist on every architecture).
func TestSyscallTableHost(t *testing.T) {
	abis, err := family(runtime.GOARCH)
	if err != nil {
		t.Skip(err)
	}
	table := abis[0].syscalls()
	for name, want := range map[string]uintptr{
		"read": unix.SYS_READ, "mkdirat": unix.SYS_MKDIRAT, "clone": unix.SYS_CLONE,
		"clone3": unix.SYS_CLONE3, "unshare": unix.SYS_UNSHARE, "keyctl": unix.SYS_KEYCTL,
		"add_key": unix.SYS_ADD_KEY, "personality": unix.SYS_PERSONALITY, "socket": unix.SYS_SOCKET,
		"ptrace": unix.SYS_PTRACE, "openat2": unix.SYS_OPENAT2, "faccessat2": unix.SYS_FACCESSAT2,
		"io_uring_setup": unix.SYS_IO_URING_SETUP, "epoll_pwait2": unix.SYS_EPOLL_PWAIT2,
		"rseq": unix.SYS_RSEQ, "mseal": unix.SYS_MSEAL, "listmount": unix.SYS_LISTMOUNT,
		"seccomp": unix.SYS_SECCOMP,
	} {
		if got, ok := table[name]; !ok || uintptr(got) != want {
			t.Errorf("%s = %d (known %v), want %d", name, got, ok, want)
		}
	}
}

// Spot checks of each ABI's table against the kernel's syscall tables
// (arch/x86/entry/syscalls/syscall_{64,32}.tbl, include/uapi/asm-generic/
// unistd.h, arch/arm/tools/syscall.tbl): they hold on any build host.
func TestSyscallTables(t *testing.T) {
	for _, tc := range []struct {
		abi    abi
		min    int
		want   map[string]uint32
		absent []string
	}{
		{abiX86_64, 370, map[string]uint32{"read": 0, "mkdir": 83, "execve": 59, "_sysctl": 156,
			"newfstatat": 262, "clone3": 435, "mseal": 462}, []string{"mmap2", "socketcall"}},
		{abiX86, 420, map[string]uint32{"exit": 1, "write": 4, "socketcall": 102, "clone": 120,
			"mmap2": 192, "chown32": 212, "socket": 359, "arch_prctl": 384, "clone3": 435,
			"set_mempolicy_home_node": 450, "cachestat": 451, "mseal": 462}, []string{"newfstatat"}},
		{abiAArch64, 300, map[string]uint32{"read": 63, "write": 64, "openat": 56, "execve": 221,
			"clone": 220, "mmap": 222, "newfstatat": 79, "uname": 160, "personality": 92,
			"clone3": 435, "mseal": 462}, []string{"open", "mkdir", "fork", "arch_prctl", "mmap2"}},
		{abiARM, 400, map[string]uint32{"exit": 1, "write": 4, "clone": 120, "mmap2": 192,
			"socket": 281, "arm_fadvise64_64": 270, "set_tls": 0x0f0005, "clone3": 435},
			[]string{"socketcall", "mmap", "syscall_mask"}},
	} {
		table := tc.abi.syscalls()
		if len(table) < tc.min {
			t.Errorf("%s: table has %d syscalls, want at least %d", tc.abi.scmp, len(table), tc.min)
		}
		for name, want := range tc.want {
			if got, ok := table[name]; !ok || got != want {
				t.Errorf("%s: %s = %d (known %v), want %d", tc.abi.scmp, name, got, ok, want)
			}
		}
		for _, name := range tc.absent {
			if _, ok := table[name]; ok {
				t.Errorf("%s: has %s", tc.abi.scmp, name)
			}
		}
	}
}

// Exec puts the filter on a thread of lade before forking, so a profile
// that would break that thread is refused rather than crashing lade.
func TestCheckExecThread(t *testing.T) {
	strict := &Profile{DefaultAction: ActErrno, Syscalls: []Syscall{
		{Names: []string{"execve", "exit_group", "read", "write"}, Action: ActAllow}}}
	for _, tc := range []struct {
		name    string
		p       *Profile
		problem string // "" = accepted
	}{
		{"default", Default(), ""},
		{"strict", strict, "denies futex, rt_sigprocmask, rt_sigreturn, sigaltstack, pipe2, close,"},
		{"kill on clone", &Profile{DefaultAction: ActAllow, Syscalls: []Syscall{
			{Names: []string{"clone"}, Action: ActKillProcess}}}, "denies clone,"},
		{"namespaces only", &Profile{DefaultAction: ActAllow, Syscalls: []Syscall{
			{Names: []string{"clone"}, Action: ActErrno, Args: []Arg{{Value: cloneNamespaceFlags, Op: OpMaskedEqual, ValueTwo: 0x10000000}}}}}, ""},
	} {
		_, err := CompileForExec(tc.p, ^uint64(0))
		switch {
		case tc.problem == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
			t.Errorf("%s: error %v, want one with %q", tc.name, err, tc.problem)
		}
		if _, err := Compile(tc.p, ^uint64(0)); err != nil {
			t.Errorf("%s: refused for a container: %v", tc.name, err)
		}
	}
}
