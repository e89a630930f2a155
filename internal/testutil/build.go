package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// MainWithLade is a TestMain's body for tests that drive the lade binary:
// it builds a static lade into a temp dir that every user may read and
// execute (rootless tests run it as another user), sets *bin to it (left
// empty, after saying why, when the build fails), runs the tests, removes
// the dir and returns m.Run's code.
func MainWithLade(m *testing.M, bin *string) int {
	dir, err := os.MkdirTemp("", "lade-bin-")
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if p, err := exec.LookPath("go"); err == nil {
		goTool = p
	}
	out := filepath.Join(dir, "lade")
	cmd := exec.Command(goTool, "build", "-o", out, "github.com/lade-build/lade/cmd/lade")
	// Static, as scripts/quickstart.sh builds it; the tests of the other
	// packages run cgo-linked test binaries, so both forms get tested.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if log, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building lade: %v\n%s", err, log)
	} else {
		*bin = out
	}
	return m.Run()
}
