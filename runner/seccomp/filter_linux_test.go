package seccomp

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The table must agree with the kernel ABI golang.org/x/sys describes.
func TestSyscallTableAMD64(t *testing.T) {
	if unix.SYS_EXECVE != 59 {
		t.Skip("not linux/amd64: x/sys's numbers are another architecture's")
	}
	for name, want := range map[string]uintptr{
		"read": unix.SYS_READ, "mkdir": unix.SYS_MKDIR, "mkdirat": unix.SYS_MKDIRAT,
		"clone": unix.SYS_CLONE, "clone3": unix.SYS_CLONE3, "unshare": unix.SYS_UNSHARE,
		"keyctl": unix.SYS_KEYCTL, "add_key": unix.SYS_ADD_KEY, "personality": unix.SYS_PERSONALITY,
		"socket": unix.SYS_SOCKET, "ptrace": unix.SYS_PTRACE, "newfstatat": unix.SYS_NEWFSTATAT,
		"openat2": unix.SYS_OPENAT2, "faccessat2": unix.SYS_FACCESSAT2, "io_uring_setup": unix.SYS_IO_URING_SETUP,
		"epoll_pwait2": unix.SYS_EPOLL_PWAIT2, "_sysctl": unix.SYS__SYSCTL, "rseq": unix.SYS_RSEQ,
		"mseal": unix.SYS_MSEAL, "listmount": unix.SYS_LISTMOUNT, "seccomp": unix.SYS_SECCOMP,
	} {
		if got := syscallsAMD64[name]; uintptr(got) != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	if len(syscallsAMD64) < 370 {
		t.Errorf("table has %d syscalls", len(syscallsAMD64))
	}
}

// Spot checks of the i386 table against arch/x86/entry/syscalls/syscall_32.tbl.
func TestSyscallTable386(t *testing.T) {
	for name, want := range map[string]uint32{
		"exit": 1, "write": 4, "socketcall": 102, "clone": 120, "mmap2": 192, "chown32": 212,
		"socket": 359, "arch_prctl": 384, "clone3": 435, "set_mempolicy_home_node": 450,
		"cachestat": 451, "mseal": 462, // the unified numbers past the header
	} {
		if got, ok := syscalls386[name]; !ok || got != want {
			t.Errorf("%s = %d (known %v), want %d", name, got, ok, want)
		}
	}
	if _, ok := syscalls386["newfstatat"]; ok {
		t.Error("newfstatat is x86_64's; i386 has fstatat64")
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
