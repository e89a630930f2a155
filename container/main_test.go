package container

import (
	"os"
	"testing"

	"github.com/lade-build/lade/runner"
)

// TestMain lets this test binary be a container's init (Prestart's
// tests launch one).
func TestMain(m *testing.M) {
	if runner.Reexec() || Reexec() {
		return
	}
	os.Exit(m.Run())
}
