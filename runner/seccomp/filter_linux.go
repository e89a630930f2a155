package seccomp

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Filter is a compiled filter, in the form the runtime passes it to the
// container's init (as JSON) and installs it.
type Filter struct {
	Prog  []byte `json:"prog"` // struct sock_filter array, native byte order
	Flags uint   `json:"flags,omitempty"`
}

// Compile compiles p for a process keeping the capabilities in the bit
// mask kept (see caps.Set; ^0 when capabilities are not limited); nil p
// means no filter.
func Compile(p *Profile, kept uint64) (*Filter, error) {
	return compileFor(p, kept, false)
}

// CompileForExec is Compile for a filter installed on a thread of lade's
// own (runner's Exec): a profile that would break that thread is refused.
func CompileForExec(p *Profile, kept uint64) (*Filter, error) {
	return compileFor(p, kept, true)
}

// compiled memoizes compileFor: every RUN step of a build compiles the
// same profile for the same capabilities, ~0.13 ms each time.
var compiled sync.Map // compileKey -> *Filter

type compileKey struct {
	profile string // the profile as JSON
	caps    uint64
	forExec bool
}

// maxCompiled bounds compiled; a process uses one or two profiles.
const maxCompiled = 16

var compiledN atomic.Int32

func compileFor(p *Profile, kept uint64, forExec bool) (*Filter, error) {
	if p == nil {
		return nil, nil
	}
	js, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	key := compileKey{string(js), kept, forExec}
	if f, ok := compiled.Load(key); ok {
		return f.(*Filter), nil
	}
	f, err := compileUncached(p, kept, forExec)
	if err == nil && compiledN.Add(1) <= maxCompiled {
		compiled.Store(key, f)
	}
	return f, err
}

func compileUncached(p *Profile, kept uint64, forExec bool) (*Filter, error) {
	prog, err := compile(p, kept, runningKernel(), runtime.GOARCH)
	if err != nil {
		return nil, err
	}
	if forExec {
		if err := checkExecThread(prog, runtime.GOARCH); err != nil {
			return nil, err
		}
	}
	f := &Filter{Prog: make([]byte, 0, 8*len(prog))}
	for _, in := range prog {
		f.Prog = binary.NativeEndian.AppendUint16(f.Prog, in.Code)
		f.Prog = append(f.Prog, in.Jt, in.Jf)
		f.Prog = binary.NativeEndian.AppendUint32(f.Prog, in.K)
	}
	for _, name := range p.Flags {
		f.Flags |= filterFlags[name]
	}
	return f, nil
}

// execThreadSyscalls are what lade's thread may still call after Exec put
// the filter on it: forking the command (pipe2, clone, read, close, wait4)
// and the Go runtime until the thread exits. Were one of them denied, lade
// itself (the shim, for healthchecks) could crash or be killed.
var execThreadSyscalls = []string{"futex", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	"pipe2", "read", "write", "close", "wait4", "mmap", "munmap", "madvise", "nanosleep",
	"sched_yield", "getpid", "gettid", "tgkill", "exit"}

// goForkFlags are the clone flags os/exec uses: CLONE_VM|CLONE_VFORK|
// CLONE_PIDFD|SIGCHLD.
const goForkFlags = 0x100 | 0x4000 | 0x1000 | 17

// checkExecThread checks prog for lade's own thread on a host of goarch.
func checkExecThread(prog []sockFilter, goarch string) error {
	abis, err := family(goarch)
	if err != nil {
		return err
	}
	native := abis[0]
	table := native.syscalls()
	var denied []string
	ok := func(ret uint32) bool { return ret == retAllow || ret == retLog }
	for _, name := range execThreadSyscalls {
		if !ok(evalFilter(prog, native.audit, table[name])) {
			denied = append(denied, name)
		}
	}
	if !ok(evalFilter(prog, native.audit, table["clone"], goForkFlags)) {
		denied = append(denied, "clone")
	}
	if len(denied) > 0 {
		return fmt.Errorf("the seccomp profile denies %s, which lade needs to start a process in the container", strings.Join(denied, ", "))
	}
	return nil
}

// runningKernel is the kernel's major.minor, zero if unreadable (so
// minKernel conditions do not hold).
func runningKernel() kernelVersion {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return kernelVersion{}
	}
	v, _ := parseKernelVersion(unix.ByteSliceToString(u.Release[:]))
	return v
}

// Install loads f (nil: none) on the calling thread; everything it execs
// or forks afterwards inherits it. It needs no_new_privs or CAP_SYS_ADMIN.
// The runtime decides when (see runner's security.Seccomp).
func Install(f *Filter) error {
	if f == nil {
		return nil
	}
	if len(f.Prog) == 0 || len(f.Prog)%8 != 0 {
		return errors.New("seccomp: malformed filter")
	}
	filter := make([]unix.SockFilter, len(f.Prog)/8)
	for i := range filter {
		b := f.Prog[8*i:]
		filter[i] = unix.SockFilter{Code: binary.NativeEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.NativeEndian.Uint32(b[4:])}
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	var err error
	if f.Flags == 0 {
		err = unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0)
	} else {
		_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(f.Flags), uintptr(unsafe.Pointer(&prog)))
		if errno != 0 {
			err = errno
		}
	}
	runtime.KeepAlive(filter)
	if err != nil {
		return fmt.Errorf("install seccomp filter: %w", err)
	}
	return nil
}
