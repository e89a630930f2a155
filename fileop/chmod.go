package fileop

import (
	"fmt"
	"strconv"
	"strings"
)

// modeFunc maps a source's permission bits (07777) to the copied ones.
type modeFunc func(mode uint32, isDir bool) uint32

// parseChmod accepts an octal mode ("0750", "600") or a symbolic one
// ("u+x,g-w", "a=rX"). Symbolic clauses without a "who" apply to all.
func parseChmod(s string) (modeFunc, error) {
	if s == "" {
		return nil, nil
	}
	if v, err := strconv.ParseUint(s, 8, 32); err == nil {
		if v > 0o7777 {
			return nil, fmt.Errorf("invalid chmod parameter: %q: it should be octal string and between 0 and 07777", s)
		}
		m := uint32(v)
		return func(uint32, bool) uint32 { return m }, nil
	} else if s[0] >= '0' && s[0] <= '9' {
		return nil, fmt.Errorf("invalid chmod parameter: %q: it should be octal string and between 0 and 07777", s)
	}
	type clause struct {
		who   uint32
		op    byte
		perm  string
		isAll bool
	}
	var clauses []clause
	for _, part := range strings.Split(s, ",") {
		i := 0
		var who uint32
		for i < len(part) && strings.IndexByte("ugoa", part[i]) >= 0 {
			switch part[i] {
			case 'u':
				who |= 0o4700
			case 'g':
				who |= 0o2070
			case 'o':
				who |= 0o1007
			case 'a':
				who |= 0o7777
			}
			i++
		}
		if who == 0 {
			who = 0o7777
		}
		if i >= len(part) || strings.IndexByte("+-=", part[i]) < 0 {
			return nil, fmt.Errorf("invalid chmod parameter: %q", s)
		}
		op := part[i]
		perm := part[i+1:]
		for _, c := range perm {
			if !strings.ContainsRune("rwxXst", c) {
				return nil, fmt.Errorf("invalid chmod parameter: %q: unknown permission %q", s, c)
			}
		}
		clauses = append(clauses, clause{who: who, op: op, perm: perm})
	}
	return func(mode uint32, isDir bool) uint32 {
		mode &= 0o7777
		for _, c := range clauses {
			var bits uint32
			for _, p := range c.perm {
				switch p {
				case 'r':
					bits |= 0o444
				case 'w':
					bits |= 0o222
				case 'x':
					bits |= 0o111
				case 'X':
					if isDir || mode&0o111 != 0 {
						bits |= 0o111
					}
				case 's':
					bits |= 0o6000
				case 't':
					bits |= 0o1000
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
		}
		return mode
	}, nil
}
