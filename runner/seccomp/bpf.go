package seccomp

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/lade-build/lade/runner/caps"
)

// sockFilter is one classic BPF instruction, laid out like the kernel's
// struct sock_filter.
type sockFilter struct {
	Code   uint16
	Jt, Jf uint8
	K      uint32
}

// Classic BPF opcodes the filter uses.
const (
	bpfLdAbsW = 0x00 | 0x00 | 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfAndK   = 0x04 | 0x50        // BPF_ALU | BPF_AND | BPF_K
	bpfJa     = 0x05 | 0x00        // BPF_JMP | BPF_JA
	bpfJeqK   = 0x05 | 0x10        // BPF_JMP | BPF_JEQ | BPF_K
	bpfJgtK   = 0x05 | 0x20
	bpfJgeK   = 0x05 | 0x30
	bpfRetK   = 0x06 // BPF_RET | BPF_K

	bpfMaxInsns = 4096 // BPF_MAXINSNS
)

// struct seccomp_data offsets, and what the filter checks.
const (
	offNr         = 0
	offArch       = 4
	offArgs       = 16
	x32SyscallBit = 0x40000000 // __X32_SYSCALL_BIT
)

// label names a position in the program; next is the instruction after.
type label int

const next label = -1

type insn struct {
	code   uint16
	k      uint32
	jt, jf label // conditional jumps; the target of ja in jt
	mark   bool  // a pseudo-instruction placing label jt
}

// assembler builds a forward-only BPF program with symbolic jumps. A
// conditional jump reaches at most 255 instructions; farther ones become
// a conditional hop over two ja instructions, which reach anywhere.
type assembler struct {
	insns  []insn
	labels int
	rets   map[uint32]label
}

func (a *assembler) label() label {
	a.labels++
	return label(a.labels - 1)
}

func (a *assembler) place(l label) { a.insns = append(a.insns, insn{mark: true, jt: l}) }
func (a *assembler) ld(off uint32) { a.insns = append(a.insns, insn{code: bpfLdAbsW, k: off}) }
func (a *assembler) and(k uint32)  { a.insns = append(a.insns, insn{code: bpfAndK, k: k}) }
func (a *assembler) ja(to label)   { a.insns = append(a.insns, insn{code: bpfJa, jt: to, jf: next}) }
func (a *assembler) jmp(code uint16, k uint32, jt, jf label) {
	a.insns = append(a.insns, insn{code: code, k: k, jt: jt, jf: jf})
}

// ret is a shared "return k" at the end of the program.
func (a *assembler) ret(k uint32) label {
	if a.rets == nil {
		a.rets = map[uint32]label{}
	}
	l, ok := a.rets[k]
	if !ok {
		l = a.label()
		a.rets[k] = l
	}
	return l
}

// retOf reports the value a shared return label returns.
func (a *assembler) retOf(l label) (uint32, bool) {
	for k, r := range a.rets {
		if r == l {
			return k, true
		}
	}
	return 0, false
}

// jaOrRet jumps to l, or returns right here when l is a shared return.
func (a *assembler) jaOrRet(l label) {
	if k, ok := a.retOf(l); ok {
		a.insns = append(a.insns, insn{code: bpfRetK, k: k})
		return
	}
	a.ja(l)
}

func isCond(code uint16) bool { return code&0x07 == 0x05 && code != bpfJa }

// assemble places the shared returns at the end, lays the program out
// and resolves its labels to offsets.
func (a *assembler) assemble() ([]sockFilter, error) {
	vals := make([]uint32, 0, len(a.rets))
	for k := range a.rets {
		vals = append(vals, k)
	}
	slices.Sort(vals)
	for _, k := range vals {
		a.place(a.rets[k])
		a.insns = append(a.insns, insn{code: bpfRetK, k: k})
	}
	l := a.layout()
	n := l.pos[len(a.insns)]
	if n > bpfMaxInsns {
		return nil, fmt.Errorf("seccomp filter needs %d BPF instructions, more than the kernel's %d", n, bpfMaxInsns)
	}
	return l.emit(n)
}

// layout is where each instruction and label of a program lands.
type layout struct {
	insns []insn
	long  []bool // conditional jumps expanded to a hop over two ja
	pos   []int  // each instruction's position; the last is the length
	at    []int  // each label's position
}

func (l *layout) size(i int) int {
	switch {
	case l.insns[i].mark:
		return 0
	case l.long[i]:
		return 3
	}
	return 1
}

// layout places the instructions, expanding conditional jumps that reach
// too far until none does (expanding one can push others out of reach).
func (a *assembler) layout() *layout {
	l := &layout{insns: a.insns, long: make([]bool, len(a.insns)),
		pos: make([]int, len(a.insns)+1), at: make([]int, a.labels)}
	for {
		p := 0
		for i, in := range l.insns {
			l.pos[i] = p
			if in.mark {
				l.at[in.jt] = p
			}
			p += l.size(i)
		}
		l.pos[len(l.insns)] = p
		grew := false
		for i, in := range l.insns {
			if !isCond(in.code) || l.long[i] {
				continue
			}
			end := l.pos[i] + 1
			for _, t := range []label{in.jt, in.jf} {
				if t != next && l.at[t]-end > 255 {
					l.long[i], grew = true, true
				}
			}
		}
		if !grew {
			return l
		}
	}
}

// emit writes the n instructions of the laid-out program.
func (l *layout) emit(n int) ([]sockFilter, error) {
	out := make([]sockFilter, 0, n)
	var err error
	// dist is the offset to t from the instruction ending at end, in
	// instruction i (whose next is after all of its expansion).
	dist := func(i int, t label, end int) int {
		dst := l.pos[i] + l.size(i)
		if t != next {
			dst = l.at[t]
		}
		d := dst - end
		if d < 0 && err == nil {
			err = errors.New("seccomp filter: backward jump")
		}
		return d
	}
	for i, in := range l.insns {
		switch {
		case in.mark:
		case in.code == bpfJa:
			out = append(out, sockFilter{Code: bpfJa, K: uint32(dist(i, in.jt, l.pos[i]+1))})
		case isCond(in.code) && l.long[i]:
			end := l.pos[i] + 3
			out = append(out,
				sockFilter{Code: in.code, K: in.k, Jt: 0, Jf: 1},
				sockFilter{Code: bpfJa, K: uint32(dist(i, in.jt, end-1))},
				sockFilter{Code: bpfJa, K: uint32(dist(i, in.jf, end))})
		case isCond(in.code):
			end := l.pos[i] + 1
			out = append(out, sockFilter{Code: in.code, K: in.k, Jt: uint8(dist(i, in.jt, end)), Jf: uint8(dist(i, in.jf, end))})
		default:
			out = append(out, sockFilter{Code: in.code, K: in.k})
		}
	}
	return out, err
}

// argRule is one resolved rule: all conds must match for ret to apply.
type argRule struct {
	ret   uint32
	conds []Arg
}

// resolveRules applies includes/excludes for a container keeping kept on
// a kernel of version kernel, and maps names to numbers through table.
// As with docker, "arches" conditions are decided for the host's GOARCH
// (amd64, arm64), whichever table maps the names: the compat filter of a
// 32-bit program follows the same rules.
func resolveRules(p *Profile, kept uint64, kernel kernelVersion, goarch string, table map[string]uint32) (uint32, map[uint32][]argRule, error) {
	def, err := actionRet(p.DefaultAction, p.DefaultErrnoRet, eperm)
	if err != nil {
		return 0, nil, err
	}
	hasCap := func(name string) bool {
		set, err := caps.Set([]string{name})
		return err == nil && kept&set == set
	}
	// applies reports whether every condition of c holds (include) or
	// none does (!include).
	applies := func(c *Condition, include bool) bool {
		if c == nil {
			return true
		}
		if len(c.Arches) > 0 && slices.Contains(c.Arches, goarch) != include {
			return false
		}
		for _, name := range c.Caps {
			if hasCap(name) != include {
				return false
			}
		}
		if c.MinKernel != "" {
			v, err := parseKernelVersion(c.MinKernel)
			if err == nil && kernel.atLeast(v) != include {
				return false
			}
		}
		return true
	}
	rules := map[uint32][]argRule{}
	for _, s := range p.Syscalls {
		// Includes need all their conditions, excludes skip a rule when
		// any of theirs holds.
		if !applies(s.Includes, true) || !applies(s.Excludes, false) {
			continue
		}
		ret, err := actionRet(s.Action, s.ErrnoRet, eperm)
		if err != nil {
			return 0, nil, err
		}
		var rs []argRule
		if sameIndexTwice(s.Args) {
			for _, a := range s.Args {
				rs = append(rs, argRule{ret: ret, conds: []Arg{a}})
			}
		} else {
			rs = []argRule{{ret: ret, conds: s.Args}}
		}
		for _, name := range s.names() {
			nr, ok := table[name]
			if !ok {
				continue
			}
			rules[nr] = append(rules[nr], rs...)
		}
	}
	for nr, rs := range rules {
		// Nothing after an unconditional rule can apply.
		for i, r := range rs {
			if len(r.conds) == 0 {
				rs = rs[:i+1]
				break
			}
		}
		if len(rs[0].conds) == 0 && rs[0].ret == def {
			delete(rules, nr)
			continue
		}
		rules[nr] = rs
	}
	return def, rules, nil
}

func sameIndexTwice(args []Arg) bool {
	seen := map[uint]bool{}
	for _, a := range args {
		if seen[a.Index] {
			return true
		}
		seen[a.Index] = true
	}
	return false
}

// compile turns p into a BPF program for a container keeping kept on a
// host of goarch: check the architecture (the native one, and the compat
// one when p admits it as docker's default does; another one kills the
// process), on x86_64 fail x32 syscalls with EPERM, find the syscall by
// binary search over the numbers that have rules, run its rules, else
// return the default action.
func compile(p *Profile, kept uint64, kernel kernelVersion, goarch string) ([]sockFilter, error) {
	abis, err := family(goarch)
	if err != nil {
		return nil, err
	}
	native := abis[0]
	rules := make([]map[uint32][]argRule, len(abis))
	var def uint32
	for i, a := range abis {
		if i > 0 && !p.admits(a, native) {
			continue
		}
		if def, rules[i], err = resolveRules(p, kept, kernel, goarch, a.syscalls()); err != nil {
			return nil, err
		}
	}
	a := &assembler{}
	a.ld(offArch)
	compat := make([]label, len(abis))
	for i := 1; i < len(abis); i++ {
		if rules[i] != nil {
			compat[i] = a.label()
			a.jmp(bpfJeqK, abis[i].audit, compat[i], next)
		}
	}
	a.jmp(bpfJeqK, native.audit, next, a.ret(retKillProcess))
	a.ld(offNr)
	if native == abiX86_64 {
		a.jmp(bpfJgeK, x32SyscallBit, a.ret(retErrno|eperm), next)
	}
	a.rules(rules[0], def)
	for i := 1; i < len(abis); i++ {
		if rules[i] != nil {
			a.place(compat[i])
			a.ld(offNr)
			a.rules(rules[i], def)
		}
	}
	return a.assemble()
}

// rules dispatches on the syscall number in A to each number's rules, and
// to def for numbers without any.
func (a *assembler) rules(rules map[uint32][]argRule, def uint32) {
	nrs := make([]uint32, 0, len(rules))
	for nr := range rules {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	targets := make([]label, len(nrs))
	for i, nr := range nrs {
		if rs := rules[nr]; len(rs[0].conds) == 0 {
			targets[i] = a.ret(rs[0].ret)
		} else {
			targets[i] = a.label()
		}
	}
	a.search(nrs, targets, a.ret(def))
	for i, nr := range nrs {
		rs := rules[nr]
		if len(rs[0].conds) == 0 {
			continue
		}
		a.place(targets[i])
		for _, r := range rs {
			if len(r.conds) == 0 {
				a.ja(a.ret(r.ret))
				break
			}
			fail := a.label()
			for _, c := range r.conds {
				a.cond(c, fail)
			}
			a.ja(a.ret(r.ret))
			a.place(fail)
		}
		a.ja(a.ret(def))
	}
}

// search jumps to targets[i] when A (the syscall number) is nrs[i], else
// to def: a binary search over the runs of consecutive numbers that go to
// the same place, so each leaf knows its run without comparing again.
func (a *assembler) search(nrs []uint32, targets []label, def label) {
	type run struct {
		lo     uint32
		target label
	}
	var runs []run
	add := func(lo uint32, t label) {
		if len(runs) == 0 || runs[len(runs)-1].target != t {
			runs = append(runs, run{lo, t})
		}
	}
	from := uint32(0)
	for i, nr := range nrs {
		if nr > from {
			add(from, def)
		}
		add(nr, targets[i])
		from = nr + 1
	}
	add(from, def)
	var tree func(rs []run)
	tree = func(rs []run) {
		if len(rs) == 1 {
			a.jaOrRet(rs[0].target)
			return
		}
		mid := len(rs) / 2
		right := a.label()
		a.jmp(bpfJgeK, rs[mid].lo, right, next)
		tree(rs[:mid])
		a.place(right)
		tree(rs[mid:])
	}
	tree(runs)
}

// cond falls through when argument c.Index compares true with c.Value as
// a 64-bit unsigned number and jumps to fail otherwise. The words of an
// argument are loaded one at a time: high word first, low word only when
// the high words are equal.
func (a *assembler) cond(c Arg, fail label) {
	lo := uint32(offArgs + 8*c.Index)
	hi := lo + 4
	v := c.Value
	vhi, vlo := uint32(v>>32), uint32(v)
	ok := a.label()
	switch c.Op {
	case OpEqualTo:
		a.ld(hi)
		a.jmp(bpfJeqK, vhi, next, fail)
		a.ld(lo)
		a.jmp(bpfJeqK, vlo, next, fail)
	case OpNotEqual:
		a.ld(hi)
		a.jmp(bpfJeqK, vhi, next, ok)
		a.ld(lo)
		a.jmp(bpfJeqK, vlo, fail, next)
	case OpGreaterThan:
		a.ordered(hi, lo, vhi, vlo, bpfJgtK, ok, fail)
	case OpGreaterEqual:
		a.ordered(hi, lo, vhi, vlo, bpfJgeK, ok, fail)
	case OpLessThan: // a < v is !(a >= v)
		a.ordered(hi, lo, vhi, vlo, bpfJgeK, fail, ok)
	case OpLessEqual: // a <= v is !(a > v)
		a.ordered(hi, lo, vhi, vlo, bpfJgtK, fail, ok)
	case OpMaskedEqual:
		w := c.ValueTwo
		a.ld(hi)
		a.and(vhi)
		a.jmp(bpfJeqK, uint32(w>>32), next, fail)
		a.ld(lo)
		a.and(vlo)
		a.jmp(bpfJeqK, uint32(w), next, fail)
	}
	a.place(ok)
}

// ordered jumps to above when the 64-bit argument at words hi:lo is
// greater than vhi:vlo (with loOp JGE: at least), else to below. The high
// words decide unless they are equal.
func (a *assembler) ordered(hi, lo, vhi, vlo uint32, loOp uint16, above, below label) {
	a.ld(hi)
	a.jmp(bpfJgtK, vhi, above, next)
	a.jmp(bpfJeqK, vhi, next, below)
	a.ld(lo)
	a.jmp(loOp, vlo, above, below)
}

// evalFilter runs prog on a struct seccomp_data for syscall nr of the
// AUDIT_ARCH arch with args, as the kernel would; a malformed program
// returns kill.
func evalFilter(prog []sockFilter, arch, nr uint32, args ...uint64) uint32 {
	var data [64]byte
	put32 := func(off int, v uint32) {
		data[off], data[off+1], data[off+2], data[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	put32(offNr, nr)
	put32(offArch, arch)
	for i, a := range args {
		put32(offArgs+8*i, uint32(a))
		put32(offArgs+8*i+4, uint32(a>>32))
	}
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		cond := false
		switch in.Code {
		case bpfLdAbsW:
			if in.K > 60 {
				return retKillProcess
			}
			k := in.K
			acc = uint32(data[k]) | uint32(data[k+1])<<8 | uint32(data[k+2])<<16 | uint32(data[k+3])<<24
			continue
		case bpfAndK:
			acc &= in.K
			continue
		case bpfJa:
			pc += int(in.K)
			continue
		case bpfRetK:
			return in.K
		case bpfJeqK:
			cond = acc == in.K
		case bpfJgtK:
			cond = acc > in.K
		case bpfJgeK:
			cond = acc >= in.K
		default:
			return retKillProcess
		}
		if cond {
			pc += int(in.Jt)
		} else {
			pc += int(in.Jf)
		}
	}
	return retKillProcess
}
