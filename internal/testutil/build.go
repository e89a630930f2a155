package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// BuildLade builds a static lade binary into dir (made readable and
// executable for everyone, so tests can run it as another user) and
// returns its path. For a TestMain, which has no testing.TB.
func BuildLade(dir string) (string, []byte, error) {
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", nil, err
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if p, err := exec.LookPath("go"); err == nil {
		goTool = p
	}
	bin := filepath.Join(dir, "lade")
	cmd := exec.Command(goTool, "build", "-o", bin, "github.com/lade-build/lade/cmd/lade")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	return bin, out, err
}
