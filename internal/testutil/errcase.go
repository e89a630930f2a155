package testutil

import (
	"strings"
	"testing"
)

// ErrCase checks err for a table case that wants an error containing
// want, or none when want is "". It reports whether an error was wanted
// (and got), so the case has nothing more to check.
func ErrCase(t testing.TB, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an error containing %q", err, want)
	}
	return true
}
