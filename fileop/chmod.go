package fileop

import (
	"fmt"
	"strconv"
	"strings"
)

// modeFunc maps a source's permission bits (07777) to the copied ones.
type modeFunc func(mode uint32, isDir bool) uint32

// whoBits are the bits a symbolic clause's "who" letter selects.
var whoBits = map[byte]uint32{'u': 0o4700, 'g': 0o2070, 'o': 0o1007, 'a': 0o7777}

// permBits are the bits a symbolic permission letter sets; 'X' is 'x'
// for directories and files some x bit is already set on.
var permBits = map[rune]uint32{'r': 0o444, 'w': 0o222, 'x': 0o111, 's': 0o6000, 't': 0o1000}

// parseChmod accepts an octal mode ("0750", "600") or a symbolic one
// ("u+x,g-w", "a=rX"). Symbolic clauses without a "who" apply to all.
func parseChmod(s string) (modeFunc, error) {
	if s == "" {
		return nil, nil
	}
	if s[0] >= '0' && s[0] <= '9' {
		v, err := strconv.ParseUint(s, 8, 32)
		if err != nil || v > 0o7777 {
			return nil, fmt.Errorf("invalid chmod parameter: %q: it should be octal string and between 0 and 07777", s)
		}
		m := uint32(v)
		return func(uint32, bool) uint32 { return m }, nil
	}
	var clauses []chmodClause
	for _, part := range strings.Split(s, ",") {
		c, err := parseChmodClause(s, part)
		if err != nil {
			return nil, err
		}
		clauses = append(clauses, c)
	}
	return func(mode uint32, isDir bool) uint32 {
		mode &= 0o7777
		for _, c := range clauses {
			mode = c.apply(mode, isDir)
		}
		return mode
	}, nil
}

// chmodClause is one comma-separated part of a symbolic mode.
type chmodClause struct {
	who  uint32 // the bits it may change
	op   byte   // '+', '-' or '='
	perm string
}

// parseChmodClause parses part of the symbolic mode s.
func parseChmodClause(s, part string) (chmodClause, error) {
	i := 0
	var who uint32
	for ; i < len(part) && whoBits[part[i]] != 0; i++ {
		who |= whoBits[part[i]]
	}
	if who == 0 {
		who = 0o7777
	}
	if i >= len(part) || strings.IndexByte("+-=", part[i]) < 0 {
		return chmodClause{}, fmt.Errorf("invalid chmod parameter: %q", s)
	}
	perm := part[i+1:]
	for _, c := range perm {
		if permBits[c] == 0 && c != 'X' {
			return chmodClause{}, fmt.Errorf("invalid chmod parameter: %q: unknown permission %q", s, c)
		}
	}
	return chmodClause{who: who, op: part[i], perm: perm}, nil
}

// apply returns mode changed by the clause.
func (c chmodClause) apply(mode uint32, isDir bool) uint32 {
	var bits uint32
	for _, p := range c.perm {
		bits |= permBits[p]
		if p == 'X' && (isDir || mode&0o111 != 0) {
			bits |= 0o111
		}
	}
	bits &= c.who
	switch c.op {
	case '+':
		mode |= bits
	case '-':
		mode &^= bits
	case '=':
		mode = mode&^c.who | bits
	}
	return mode
}
