package solver

import "fmt"

// maxExpanded bounds one expanded ARG or ENV value. Each ARG can double
// the one before (ARG B=${A}${A}), so forty lines would need a terabyte;
// failing at 1 MiB keeps memory bounded. execve takes at most 128 KiB per
// env string anyway.
const maxExpanded = 1 << 20

func checkExpanded(v string) error {
	if len(v) > maxExpanded {
		return fmt.Errorf("expanded value too long: %d bytes (limit %d)", len(v), maxExpanded)
	}
	return nil
}
