package runner

import "github.com/lade-build/lade/runner/caps"

// DefaultCapabilities is the set docker grants a container.
var DefaultCapabilities = caps.Default

// AllCapabilities returns every capability name lade knows.
func AllCapabilities() []string { return caps.All() }

// NormalizeCapability turns "chown", "CHOWN" or "cap_chown" into
// "CAP_CHOWN", and reports whether lade knows it ("ALL" is accepted too).
func NormalizeCapability(name string) (string, error) { return caps.Normalize(name) }
