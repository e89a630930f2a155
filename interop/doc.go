// Package interop holds tests that drive `lade serve` with client
// libraries too large for cmd/lade's test binary: testcontainers-go, with
// its reaper disabled, against a lade serve on a socket of the test's.
// It has no code of its own.
package interop
