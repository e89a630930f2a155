package testutil

import (
	"strings"
)

// ErrorLines returns the lines lade printed as errors on stderr.
func ErrorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "Error: ") {
			out = append(out, l)
		}
	}
	return out
}
