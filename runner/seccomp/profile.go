package seccomp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lade-build/lade/runner/caps"
)

// Profile is a seccomp profile in docker's JSON format. The host's
// native syscalls are filtered (x86_64 or aarch64), and its compat ABI's
// (i386: a 32-bit program's int 0x80; arm on aarch64) when the profile
// admits it, as docker's default does through its archMap; a syscall of
// any other architecture kills the process, and x32 ones fail with EPERM.
type Profile struct {
	DefaultAction   string    `json:"defaultAction"`
	DefaultErrnoRet *uint     `json:"defaultErrnoRet,omitempty"`
	Architectures   []string  `json:"architectures,omitempty"`
	ArchMap         []ArchMap `json:"archMap,omitempty"`
	// Flags are seccomp(2) filter flags: SECCOMP_FILTER_FLAG_LOG and
	// SECCOMP_FILTER_FLAG_SPEC_ALLOW (SECCOMP_FILTER_FLAG_TSYNC is
	// accepted and has no effect: the filter is installed on the thread
	// that execs, and execve ends the others).
	Flags    []string  `json:"flags,omitempty"`
	Syscalls []Syscall `json:"syscalls"`
}

// admits reports whether p admits the compat ABI a on a host whose
// native ABI is native, as docker reads a profile: a listed in
// architectures, or in archMap as native's sub-architecture (or an entry
// of its own).
func (p *Profile) admits(a, native abi) bool {
	if slices.Contains(p.Architectures, a.scmp) {
		return true
	}
	for _, m := range p.ArchMap {
		if m.Architecture == a.scmp || m.Architecture == native.scmp && slices.Contains(m.SubArchitectures, a.scmp) {
			return true
		}
	}
	return false
}

// ArchMap is docker's archMap entry.
type ArchMap struct {
	Architecture     string   `json:"architecture"`
	SubArchitectures []string `json:"subArchitectures"`
}

// Syscall is one rule. Rules apply in profile order: the first
// whose arguments match decides.
type Syscall struct {
	Name     string     `json:"name,omitempty"`
	Names    []string   `json:"names,omitempty"`
	Action   string     `json:"action"`
	ErrnoRet *uint      `json:"errnoRet,omitempty"`
	Args     []Arg      `json:"args,omitempty"`
	Comment  string     `json:"comment,omitempty"`
	Includes *Condition `json:"includes,omitempty"`
	Excludes *Condition `json:"excludes,omitempty"`
}

// Arg compares one syscall argument with Value (as a 64-bit
// unsigned number). Several args in a rule must all match, except that
// args naming the same index more than once each make a rule of their own,
// as in docker.
type Arg struct {
	Index    uint   `json:"index"`
	Value    uint64 `json:"value"`
	ValueTwo uint64 `json:"valueTwo,omitempty"`
	Op       string `json:"op"`
}

// Condition is docker's includes/excludes: a rule applies only when
// the container keeps all of Caps (includes) or none of them (excludes), when
// the arch is (not) listed and when the kernel is at least (below)
// MinKernel.
type Condition struct {
	Caps      []string `json:"caps,omitempty"`
	Arches    []string `json:"arches,omitempty"`
	MinKernel string   `json:"minKernel,omitempty"`
}

// Actions.
const (
	ActAllow       = "SCMP_ACT_ALLOW"
	ActErrno       = "SCMP_ACT_ERRNO"
	ActKill        = "SCMP_ACT_KILL" // kills the thread, like libseccomp
	ActKillThread  = "SCMP_ACT_KILL_THREAD"
	ActKillProcess = "SCMP_ACT_KILL_PROCESS"
	ActTrap        = "SCMP_ACT_TRAP"
	ActTrace       = "SCMP_ACT_TRACE"
	ActLog         = "SCMP_ACT_LOG"
)

// Argument comparisons.
const (
	OpNotEqual     = "SCMP_CMP_NE"
	OpLessThan     = "SCMP_CMP_LT"
	OpLessEqual    = "SCMP_CMP_LE"
	OpEqualTo      = "SCMP_CMP_EQ"
	OpGreaterEqual = "SCMP_CMP_GE"
	OpGreaterThan  = "SCMP_CMP_GT"
	OpMaskedEqual  = "SCMP_CMP_MASKED_EQ" // (arg & Value) == ValueTwo
)

// Filter return values (linux/seccomp.h).
const (
	retKillProcess = 0x80000000
	retKillThread  = 0x00000000
	retTrap        = 0x00030000
	retErrno       = 0x00050000
	retTrace       = 0x7ff00000
	retLog         = 0x7ffc0000
	retAllow       = 0x7fff0000
	eperm          = 1
)

var knownOps = map[string]bool{OpNotEqual: true, OpLessThan: true, OpLessEqual: true,
	OpEqualTo: true, OpGreaterEqual: true, OpGreaterThan: true, OpMaskedEqual: true}

var knownArches = map[string]bool{}

func init() {
	for _, a := range strings.Fields(`X86 X86_64 X32 ARM AARCH64 LOONGARCH64 MIPS MIPS64
		MIPS64N32 MIPSEL MIPSEL64 MIPSEL64N32 PPC PPC64 PPC64LE S390 S390X PARISC
		PARISC64 RISCV64`) {
		knownArches["SCMP_ARCH_"+a] = true
	}
}

var filterFlags = map[string]uint{
	"SECCOMP_FILTER_FLAG_TSYNC":      0, // see Profile.Flags
	"SECCOMP_FILTER_FLAG_LOG":        2,
	"SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4,
}

// Parse reads a docker JSON profile and checks its actions,
// comparisons, architectures and flags. Unknown syscall names are ignored,
// as docker does, since profiles list syscalls of every architecture.
func Parse(data []byte) (*Profile, error) {
	var p Profile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	if dec.More() {
		return nil, errors.New("seccomp profile: trailing data after the JSON object")
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	return &p, nil
}

func (p *Profile) validate() error {
	if p.DefaultAction == "" {
		return errors.New("no defaultAction")
	}
	if _, err := actionRet(p.DefaultAction, p.DefaultErrnoRet, eperm); err != nil {
		return fmt.Errorf("defaultAction: %w", err)
	}
	if len(p.Architectures) > 0 && len(p.ArchMap) > 0 {
		return errors.New("both architectures and archMap are set: use one")
	}
	for _, a := range p.Architectures {
		if !knownArches[a] {
			return fmt.Errorf("unknown architecture %q", a)
		}
	}
	for _, m := range p.ArchMap {
		for _, a := range append([]string{m.Architecture}, m.SubArchitectures...) {
			if !knownArches[a] {
				return fmt.Errorf("archMap: unknown architecture %q", a)
			}
		}
	}
	for _, f := range p.Flags {
		if _, ok := filterFlags[f]; !ok {
			return fmt.Errorf("unsupported flag %q", f)
		}
	}
	for i, s := range p.Syscalls {
		if err := s.validate(); err != nil {
			return fmt.Errorf("syscalls[%d] (%s): %w", i, strings.Join(s.names(), ","), err)
		}
	}
	return nil
}

func (s *Syscall) names() []string {
	if s.Name != "" {
		return append([]string{s.Name}, s.Names...)
	}
	return s.Names
}

func (s *Syscall) validate() error {
	if s.Name != "" && len(s.Names) > 0 {
		return errors.New("both name and names are set: use one")
	}
	if len(s.names()) == 0 {
		return errors.New("no syscall names")
	}
	if _, err := actionRet(s.Action, s.ErrnoRet, eperm); err != nil {
		return err
	}
	for _, a := range s.Args {
		if a.Index > 5 {
			return fmt.Errorf("argument index %d: syscalls have six (0-5)", a.Index)
		}
		if !knownOps[a.Op] {
			return fmt.Errorf("unknown comparison %q", a.Op)
		}
	}
	for _, c := range []*Condition{s.Includes, s.Excludes} {
		if c == nil {
			continue
		}
		for _, name := range c.Caps {
			if _, err := caps.Normalize(name); err != nil {
				return err
			}
		}
		if c.MinKernel != "" {
			if _, err := parseKernelVersion(c.MinKernel); err != nil {
				return err
			}
		}
	}
	return nil
}

// actionRet turns an action into the filter's return value; errnoRet
// (else def) is the errno of SCMP_ACT_ERRNO and the data of SCMP_ACT_TRACE.
func actionRet(action string, errnoRet *uint, def uint) (uint32, error) {
	n := def
	if errnoRet != nil {
		n = *errnoRet
		if n > 0xffff {
			return 0, fmt.Errorf("errnoRet %d out of range", n)
		}
	}
	switch action {
	case ActAllow:
		return retAllow, nil
	case ActErrno:
		return retErrno | uint32(n), nil
	case ActKill, ActKillThread:
		return retKillThread, nil
	case ActKillProcess:
		return retKillProcess, nil
	case ActTrap:
		return retTrap, nil
	case ActTrace:
		return retTrace | uint32(n), nil
	case ActLog:
		return retLog, nil
	case "SCMP_ACT_NOTIFY":
		return 0, errors.New("action SCMP_ACT_NOTIFY is not supported (lade has no seccomp agent)")
	case "":
		return 0, errors.New("no action")
	}
	return 0, fmt.Errorf("unknown action %q", action)
}

// kernelVersion is major.minor.
type kernelVersion [2]int

func parseKernelVersion(s string) (kernelVersion, error) {
	var v kernelVersion
	major, rest, _ := strings.Cut(s, ".")
	minor, _, _ := strings.Cut(rest, ".")
	minor = strings.TrimRightFunc(minor, func(r rune) bool { return r < '0' || r > '9' })
	var err1, err2 error
	v[0], err1 = strconv.Atoi(major)
	if minor != "" {
		v[1], err2 = strconv.Atoi(minor)
	}
	if err1 != nil || err2 != nil || v[0] < 0 || v[1] < 0 {
		return v, fmt.Errorf("bad kernel version %q", s)
	}
	return v, nil
}

func (v kernelVersion) atLeast(w kernelVersion) bool {
	return v[0] > w[0] || v[0] == w[0] && v[1] >= w[1]
}

// ForContainer picks a `lade run` container's filter from the value of
// its --security-opt seccomp=... ("" for the default): nil for
// "unconfined" and for privileged containers, docker's default profile for
// "", and otherwise opt is a profile's JSON text.
func ForContainer(opt string, privileged bool) (*Profile, error) {
	switch {
	case privileged || opt == "unconfined":
		return nil, nil
	case opt == "":
		return Default(), nil
	}
	return Parse([]byte(opt))
}
