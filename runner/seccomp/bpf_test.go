package seccomp

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/lade-build/lade/runner/caps"
)

// evalBPF runs a classic BPF seccomp program on a struct seccomp_data the
// way the kernel does, and fails on anything the kernel would reject.
func evalBPF(t *testing.T, prog []sockFilter, data []byte) uint32 {
	t.Helper()
	if len(prog) == 0 || len(prog) > bpfMaxInsns {
		t.Fatalf("program has %d instructions", len(prog))
	}
	var acc uint32
	for pc := 0; ; pc++ {
		if pc >= len(prog) {
			t.Fatalf("fell off the end of the program")
		}
		in := prog[pc]
		jump := func(cond bool) {
			off := int(in.Jf)
			if cond {
				off = int(in.Jt)
			}
			pc += off
		}
		switch in.Code {
		case bpfLdAbsW:
			if in.K%4 != 0 || int(in.K)+4 > len(data) {
				t.Fatalf("pc %d: load at offset %d", pc, in.K)
			}
			acc = binary.LittleEndian.Uint32(data[in.K:])
		case bpfAndK:
			acc &= in.K
		case bpfJa:
			pc += int(in.K)
		case bpfJeqK:
			jump(acc == in.K)
		case bpfJgtK:
			jump(acc > in.K)
		case bpfJgeK:
			jump(acc >= in.K)
		case bpfRetK:
			return in.K
		default:
			t.Fatalf("pc %d: unexpected opcode %#x", pc, in.Code)
		}
	}
}

// seccompData lays out struct seccomp_data as on x86_64 (little endian).
func seccompData(arch, nr uint32, args ...uint64) []byte {
	b := make([]byte, 64)
	binary.LittleEndian.PutUint32(b[0:], nr)
	binary.LittleEndian.PutUint32(b[4:], arch)
	binary.LittleEndian.PutUint64(b[8:], 0x401000) // instruction pointer
	for i, a := range args {
		binary.LittleEndian.PutUint64(b[16+8*i:], a)
	}
	return b
}

func mustCompile(t *testing.T, p *Profile, kept []string, kernel kernelVersion) []sockFilter {
	t.Helper()
	return mustCompileFor(t, p, kept, kernel, "amd64")
}

// mustCompileFor compiles p for a host of goarch.
func mustCompileFor(t *testing.T, p *Profile, kept []string, kernel kernelVersion, goarch string) []sockFilter {
	t.Helper()
	set := ^uint64(0)
	if kept != nil {
		var err error
		if set, err = caps.Set(kept); err != nil {
			t.Fatal(err)
		}
	}
	prog, err := compile(p, set, kernel, goarch)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func nr(t *testing.T, name string) uint32 {
	t.Helper()
	n, ok := abiX86_64.syscalls()[name]
	if !ok {
		t.Fatalf("no syscall %q", name)
	}
	return n
}

const (
	errnoEPERM  = retErrno | 1
	errnoENOSYS = retErrno | 38
)

var auditI386 = abiX86.audit

func TestDefaultSeccompFilter(t *testing.T) {
	withAdmin := append(append([]string(nil), caps.Default...), "CAP_SYS_ADMIN")
	withPtrace := append(append([]string(nil), caps.Default...), "CAP_SYS_PTRACE")
	noChroot := []string{"CAP_CHOWN"}
	cloneVfork := uint64(0x4000 | 0x100 | 17) // CLONE_VFORK|CLONE_VM|SIGCHLD
	cloneThread := uint64(0x3d0f00)           // what glibc's pthread_create passes
	cloneUserNS := uint64(0x10000000 | 17)
	k6, k4 := kernelVersion{6, 1}, kernelVersion{4, 4}
	tests := []struct {
		name   string
		caps   []string
		kernel kernelVersion
		arch   uint32
		call   string
		nr     uint32 // used when call is ""
		args   []uint64
		want   uint32
	}{
		{name: "read", call: "read", want: retAllow},
		{name: "mkdir", call: "mkdir", want: retAllow},
		{name: "execve", call: "execve", want: retAllow},
		{name: "exit_group", call: "exit_group", want: retAllow},
		{name: "arch_prctl", call: "arch_prctl", want: retAllow},
		{name: "keyctl denied", call: "keyctl", want: errnoEPERM},
		{name: "add_key denied", call: "add_key", want: errnoEPERM},
		{name: "io_uring denied", call: "io_uring_setup", want: errnoEPERM},
		{name: "kexec denied even with all caps", caps: caps.All(), call: "kexec_load", want: errnoEPERM},
		{name: "unknown number", nr: 1000, want: errnoEPERM},
		{name: "number above the table", nr: 471, want: errnoEPERM},
		{name: "unshare needs SYS_ADMIN", call: "unshare", args: []uint64{0x10000000}, want: errnoEPERM},
		{name: "unshare with SYS_ADMIN", caps: withAdmin, call: "unshare", args: []uint64{0x10000000}, want: retAllow},
		{name: "mount needs SYS_ADMIN", call: "mount", want: errnoEPERM},
		{name: "mount with SYS_ADMIN", caps: withAdmin, call: "mount", want: retAllow},
		{name: "setns needs SYS_ADMIN", call: "setns", want: errnoEPERM},
		{name: "clone vfork", call: "clone", args: []uint64{cloneVfork}, want: retAllow},
		{name: "clone thread", call: "clone", args: []uint64{cloneThread}, want: retAllow},
		{name: "clone new user ns", call: "clone", args: []uint64{cloneUserNS}, want: errnoEPERM},
		{name: "clone new net ns", call: "clone", args: []uint64{0x40000000}, want: errnoEPERM},
		{name: "clone new cgroup ns", call: "clone", args: []uint64{0x02000000}, want: errnoEPERM},
		{name: "clone flags beyond 32 bits", call: "clone", args: []uint64{1<<32 | cloneVfork}, want: retAllow},
		{name: "clone ns with SYS_ADMIN", caps: withAdmin, call: "clone", args: []uint64{cloneUserNS}, want: retAllow},
		{name: "clone3 is ENOSYS", call: "clone3", want: errnoENOSYS},
		{name: "clone3 with SYS_ADMIN", caps: withAdmin, call: "clone3", want: retAllow},
		{name: "personality linux", call: "personality", args: []uint64{0}, want: retAllow},
		{name: "personality linux32", call: "personality", args: []uint64{8}, want: retAllow},
		{name: "personality uname26", call: "personality", args: []uint64{0x20008}, want: retAllow},
		{name: "personality query", call: "personality", args: []uint64{0xffffffff}, want: retAllow},
		{name: "personality no randomize", call: "personality", args: []uint64{0x0040000}, want: errnoEPERM},
		{name: "personality high word", call: "personality", args: []uint64{1 << 32}, want: errnoEPERM},
		{name: "socket inet", call: "socket", args: []uint64{2, 1, 0}, want: retAllow},
		{name: "socket alg", call: "socket", args: []uint64{38}, want: errnoEPERM},
		{name: "socket nfc", call: "socket", args: []uint64{39}, want: retAllow},
		{name: "socket vsock", call: "socket", args: []uint64{40}, want: errnoEPERM},
		{name: "socket kcm", call: "socket", args: []uint64{41}, want: retAllow},
		{name: "ptrace on a new kernel", kernel: k6, call: "ptrace", want: retAllow},
		{name: "ptrace on 4.4", kernel: k4, call: "ptrace", want: errnoEPERM},
		{name: "ptrace on 4.4 with SYS_PTRACE", kernel: k4, caps: withPtrace, call: "ptrace", want: retAllow},
		{name: "kcmp needs SYS_PTRACE", call: "kcmp", want: errnoEPERM},
		{name: "kcmp with SYS_PTRACE", caps: withPtrace, call: "kcmp", want: retAllow},
		{name: "chroot with SYS_CHROOT", call: "chroot", want: retAllow},
		{name: "chroot without it", caps: noChroot, call: "chroot", want: errnoEPERM},
		{name: "reboot needs SYS_BOOT", call: "reboot", want: errnoEPERM},
		// A 32-bit program's int 0x80 goes through the i386 table.
		{name: "i386 write", arch: auditI386, call: "write", want: retAllow},
		{name: "i386 mmap2", arch: auditI386, call: "mmap2", want: retAllow},
		{name: "i386 socketcall", arch: auditI386, call: "socketcall", want: retAllow},
		{name: "i386 arch_prctl", arch: auditI386, call: "arch_prctl", want: retAllow},
		{name: "i386 keyctl denied", arch: auditI386, call: "keyctl", want: errnoEPERM},
		{name: "i386 kexec denied", arch: auditI386, caps: caps.All(), call: "kexec_load", want: errnoEPERM},
		{name: "i386 socket vsock", arch: auditI386, call: "socket", args: []uint64{40}, want: errnoEPERM},
		{name: "i386 clone new user ns", arch: auditI386, call: "clone", args: []uint64{cloneUserNS}, want: errnoEPERM},
		{name: "i386 clone vfork", arch: auditI386, call: "clone", args: []uint64{cloneVfork}, want: retAllow},
		{name: "i386 personality query", arch: auditI386, call: "personality", args: []uint64{0xffffffff}, want: retAllow},
		{name: "i386 mount needs SYS_ADMIN", arch: auditI386, call: "mount", want: errnoEPERM},
		{name: "i386 umount with SYS_ADMIN", arch: auditI386, caps: withAdmin, call: "umount", want: retAllow},
		{name: "i386 number above the table", arch: auditI386, nr: 1000, want: errnoEPERM},
		// x86_64's number 1 is write, i386's is exit: the tables differ.
		{name: "i386 chown32 is not an x86_64 call", arch: auditI386, call: "chown32", want: retAllow},
		{name: "another architecture kills", arch: 0xC00000B7 /* AARCH64 */, nr: 1, want: retKillProcess},
		{name: "x32 read", nr: x32SyscallBit | 0, want: errnoEPERM},
		{name: "x32 execve", nr: x32SyscallBit | 520, want: errnoEPERM},
		{name: "negative number", nr: 0xffffffff, want: errnoEPERM},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kept := tc.caps
			if kept == nil {
				kept = caps.Default
			}
			kernel := tc.kernel
			if kernel == (kernelVersion{}) {
				kernel = k6
			}
			arch := tc.arch
			if arch == 0 {
				arch = abiX86_64.audit
			}
			n := tc.nr
			if tc.call != "" && arch == auditI386 {
				var ok bool
				if n, ok = abiX86.syscalls()[tc.call]; !ok {
					t.Fatalf("no i386 syscall %q", tc.call)
				}
			} else if tc.call != "" {
				n = nr(t, tc.call)
			}
			prog := mustCompile(t, Default(), kept, kernel)
			if got := evalBPF(t, prog, seccompData(arch, n, tc.args...)); got != tc.want {
				t.Errorf("filter returned %#x, want %#x", got, tc.want)
			}
		})
	}
}

// Every syscall of the default allow-list is allowed, on every ABI of
// every host architecture, and every syscall of a table that no rule
// names is denied.
func TestDefaultSeccompCoversAllowList(t *testing.T) {
	allowed := map[string]bool{}
	for _, g := range defaultAllowed {
		for _, name := range g {
			allowed[name] = true
		}
	}
	named := map[string]bool{}
	for _, s := range Default().Syscalls {
		for _, n := range s.names() {
			named[n] = true
		}
	}
	known := map[string]bool{}
	for goarch, abis := range families {
		prog := mustCompileFor(t, Default(), caps.Default, kernelVersion{6, 1}, goarch)
		for _, a := range abis {
			for name, n := range a.syscalls() {
				known[name] = true
				got := evalBPF(t, prog, seccompData(a.audit, n))
				switch {
				case allowed[name] && got != retAllow:
					t.Errorf("%s %s: %#x, want allowed", a.scmp, name, got)
				case !named[name] && got != errnoEPERM:
					t.Errorf("%s %s: %#x, want EPERM", a.scmp, name, got)
				}
			}
		}
		t.Logf("default filter on %s: %d instructions", goarch, len(prog))
	}
	for name := range named {
		if !known[name] {
			t.Errorf("the default profile names %q, which no table has", name)
		}
	}
}

// cmp64 is the reference for the argument comparisons.
func cmp64(op string, a, v, v2 uint64) bool {
	switch op {
	case OpEqualTo:
		return a == v
	case OpNotEqual:
		return a != v
	case OpLessThan:
		return a < v
	case OpLessEqual:
		return a <= v
	case OpGreaterThan:
		return a > v
	case OpGreaterEqual:
		return a >= v
	case OpMaskedEqual:
		return a&v == v2
	}
	panic(op)
}

func TestSeccompArgComparisons(t *testing.T) {
	values := []uint64{0, 1, 0x10, 0xffffffff, 0x1_00000000, 0x5_00000010, 0x5_0000000f,
		0x5_00000011, 0x4_ffffffff, 0x6_00000000, 0x5_ffffffff, ^uint64(0)}
	ops := []string{OpEqualTo, OpNotEqual, OpLessThan, OpLessEqual, OpGreaterThan, OpGreaterEqual, OpMaskedEqual}
	for _, op := range ops {
		for _, v := range values {
			v2 := v & 0xf0000000_0000fff0
			// ERRNO 7 when the comparison holds on argument 2.
			seven := uint(7)
			p := &Profile{DefaultAction: ActAllow, Syscalls: []Syscall{{
				Names: []string{"ioctl"}, Action: ActErrno, ErrnoRet: &seven,
				Args: []Arg{{Index: 2, Value: v, ValueTwo: v2, Op: op}},
			}}}
			prog := mustCompile(t, p, nil, kernelVersion{6, 1})
			for _, a := range values {
				want := uint32(retAllow)
				if cmp64(op, a, v, v2) {
					want = retErrno | 7
				}
				got := evalBPF(t, prog, seccompData(abiX86_64.audit, nr(t, "ioctl"), 0, 0, a))
				if got != want {
					t.Errorf("%s value %#x arg %#x: %#x, want %#x", op, v, a, got, want)
				}
			}
		}
	}
}

func TestSeccompRuleSemantics(t *testing.T) {
	one, two, three := uint(1), uint(2), uint(3)
	p := &Profile{DefaultAction: ActAllow, Syscalls: []Syscall{
		// different indexes: all must match
		{Names: []string{"write"}, Action: ActErrno, ErrnoRet: &one,
			Args: []Arg{{Index: 0, Value: 1, Op: OpEqualTo}, {Index: 2, Value: 100, Op: OpGreaterThan}}},
		// the same index twice: either may match
		{Names: []string{"kill"}, Action: ActErrno, ErrnoRet: &two,
			Args: []Arg{{Index: 1, Value: 9, Op: OpEqualTo}, {Index: 1, Value: 19, Op: OpEqualTo}}},
		// the first matching rule wins
		{Name: "mkdir", Action: ActErrno, ErrnoRet: &three, Args: []Arg{{Index: 1, Value: 0o700, Op: OpEqualTo}}},
		{Name: "mkdir", Action: ActKillProcess},
		{Name: "mkdir", Action: ActAllow},
		{Names: []string{"getpid"}, Action: ActTrap},
		{Names: []string{"getppid"}, Action: ActLog},
		{Names: []string{"gettid"}, Action: ActKill},
		{Names: []string{"not_a_syscall", "uname"}, Action: ActErrno}, // unknown names are skipped
	}}
	prog := mustCompile(t, p, nil, kernelVersion{6, 1})
	tests := []struct {
		call string
		args []uint64
		want uint32
	}{
		{"write", []uint64{1, 0, 101}, retErrno | 1},
		{"write", []uint64{1, 0, 100}, retAllow},
		{"write", []uint64{2, 0, 101}, retAllow},
		{"kill", []uint64{1, 9}, retErrno | 2},
		{"kill", []uint64{1, 19}, retErrno | 2},
		{"kill", []uint64{1, 15}, retAllow},
		{"mkdir", []uint64{0, 0o700}, retErrno | 3},
		{"mkdir", []uint64{0, 0o755}, retKillProcess},
		{"getpid", nil, retTrap},
		{"getppid", nil, retLog},
		{"gettid", nil, retKillThread},
		{"uname", nil, retErrno | 1},
		{"read", nil, retAllow},
		{"", nil, errnoEPERM}, // x32, even with an allowing default
	}
	for _, tc := range tests {
		n := uint32(x32SyscallBit)
		if tc.call != "" {
			n = nr(t, tc.call)
		}
		if got := evalBPF(t, prog, seccompData(abiX86_64.audit, n, tc.args...)); got != tc.want {
			t.Errorf("%s%v: %#x, want %#x", tc.call, tc.args, got, tc.want)
		}
	}
	if got := evalBPF(t, prog, seccompData(auditI386, 20)); got != retKillProcess {
		t.Errorf("i386 with an allowing default: %#x, want kill", got)
	}
}

// Many conditional rules put targets far beyond a conditional jump's 255
// instructions, so the assembler must switch to long jumps correctly.
func TestSeccompLongJumps(t *testing.T) {
	p := &Profile{DefaultAction: ActAllow}
	for nr := uint32(0); nr < 330; nr++ {
		e := uint(nr%200 + 1)
		p.Syscalls = append(p.Syscalls, Syscall{Names: []string{name(nr)}, Action: ActErrno, ErrnoRet: &e,
			Args: []Arg{{Index: uint(nr % 6), Value: uint64(nr) << 20, Op: OpEqualTo}}})
	}
	prog := mustCompile(t, p, nil, kernelVersion{6, 1})
	if len(prog) < 2000 {
		t.Fatalf("only %d instructions: the test needs a big program", len(prog))
	}
	for n := uint32(0); n < 330; n++ {
		if name(n) == "" {
			continue
		}
		args := make([]uint64, 6)
		args[n%6] = uint64(n) << 20
		if got, want := evalBPF(t, prog, seccompData(abiX86_64.audit, n, args...)), retErrno|(n%200+1); got != want {
			t.Errorf("nr %d matching: %#x, want %#x", n, got, want)
		}
		args[n%6]++
		if got := evalBPF(t, prog, seccompData(abiX86_64.audit, n, args...)); got != retAllow {
			t.Errorf("nr %d not matching: %#x, want allow", n, got)
		}
	}
}

// name is the syscall with number nr, "" if none.
func name(nr uint32) string {
	for n, v := range abiX86_64.syscalls() {
		if v == nr {
			return n
		}
	}
	return ""
}

func TestParseSeccompProfile(t *testing.T) {
	good := `{
		"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
		"archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
		"syscalls": [
			{"names": ["read", "write", "exit_group", "no_such_call"], "action": "SCMP_ACT_ALLOW"},
			{"name": "ptrace", "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_PTRACE"], "minKernel": "4.8"}},
			{"names": ["clone"], "action": "SCMP_ACT_ALLOW",
			 "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}],
			 "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390x"]}},
			{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "comment": "no dirs"},
			{"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}}
		]}`
	p, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	prog := mustCompile(t, p, caps.Default, kernelVersion{6, 1})
	for _, tc := range []struct {
		call string
		args []uint64
		want uint32
	}{
		{"read", nil, retAllow},
		{"ptrace", nil, errnoEPERM},
		{"clone", []uint64{0x11}, retAllow},
		{"clone", []uint64{0x10000011}, errnoEPERM},
		{"mkdir", nil, retErrno | 13},
		{"getpid", nil, errnoEPERM},
	} {
		if got := evalBPF(t, prog, seccompData(abiX86_64.audit, nr(t, tc.call), tc.args...)); got != tc.want {
			t.Errorf("%s: %#x, want %#x", tc.call, got, tc.want)
		}
	}

	bad := map[string]string{
		"malformed":        `{"defaultAction": "SCMP_ACT_ALLOW",`,
		"trailing":         `{"defaultAction": "SCMP_ACT_ALLOW"} {}`,
		"no default":       `{"syscalls": []}`,
		"unknown default":  `{"defaultAction": "SCMP_ACT_MAYBE"}`,
		"unknown action":   `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOPE"}]}`,
		"no action":        `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"]}]}`,
		"notify":           `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}`,
		"unknown op":       `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}`,
		"index 6":          `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}`,
		"name and names":   `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "read", "names": ["write"], "action": "SCMP_ACT_ERRNO"}]}`,
		"no names":         `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]}`,
		"unknown arch":     `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}`,
		"arch and archMap": `{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}`,
		"unknown cap":      `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_FLY"]}}]}`,
		"bad minKernel":    `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "includes": {"minKernel": "new"}}]}`,
		"errno too big":    `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}`,
		"unknown flag":     `{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]}`,
		"value not number": `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": "1", "op": "SCMP_CMP_EQ"}]}]}`,
	}
	for name, text := range bad {
		if _, err := Parse([]byte(text)); err == nil {
			t.Errorf("%s: accepted %s", name, text)
		} else if !strings.HasPrefix(err.Error(), "seccomp profile: ") {
			t.Errorf("%s: error %q does not say what it is about", name, err)
		}
	}
}

func TestContainerSeccomp(t *testing.T) {
	for _, tc := range []struct {
		opt        string
		privileged bool
		want       string // "nil", "default" or "custom"
	}{
		{"", false, "default"},
		{"", true, "nil"},
		{"unconfined", false, "nil"},
		{`{"defaultAction": "SCMP_ACT_LOG"}`, false, "custom"},
		{`{"defaultAction": "SCMP_ACT_LOG"}`, true, "nil"},
	} {
		p, err := ForContainer(tc.opt, tc.privileged)
		if err != nil {
			t.Fatal(err)
		}
		got := "custom"
		switch {
		case p == nil:
			got = "nil"
		case reflect.DeepEqual(p, Default()):
			got = "default"
		}
		if got != tc.want {
			t.Errorf("ForContainer(%q, %v) = %s, want %s", tc.opt, tc.privileged, got, tc.want)
		}
	}
	if _, err := ForContainer("{", false); err == nil {
		t.Error("a broken profile was accepted")
	}
}

// The package's own evaluator (used to check profiles for Exec) agrees
// with the test's strict one.
func TestEvalFilterAgrees(t *testing.T) {
	for _, kept := range [][]string{caps.Default, caps.All()} {
		prog := mustCompile(t, Default(), kept, kernelVersion{6, 1})
		for _, n := range abiX86_64.syscalls() {
			for _, arg := range []uint64{0, 8, 38, 0x10000000 | 17, 1 << 32} {
				want := evalBPF(t, prog, seccompData(abiX86_64.audit, n, arg))
				if got := evalFilter(prog, abiX86_64.audit, n, arg); got != want {
					t.Errorf("nr %d arg %#x: evalFilter %#x, want %#x", n, arg, got, want)
				}
			}
		}
	}
}
