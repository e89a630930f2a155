// Package dockercompat_test runs scripts/docker-compat.sh: lade's
// --format '{{json .}}' output must carry every field name docker's does.
package dockercompat_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

var ladeBin string

func TestMain(m *testing.M) { os.Exit(testutil.MainWithLade(m, &ladeBin)) }

// TestDockerFieldNames: ps -a, images, inspect of a container and of an
// image, history and volume ls print docker's field names (the script
// lists the exceptions and why).
func TestDockerFieldNames(t *testing.T) {
	testutil.RequireRoot(t)
	if testing.Short() {
		t.Skip("skipping the docker comparison in short mode")
	}
	testutil.DockerTools(t)
	if _, err := exec.LookPath("jq"); err != nil {
		testutil.Unavailable(t, "jq missing: apt-get install jq (scripts/test.sh does)")
	}
	if ladeBin == "" {
		t.Fatal("lade did not build")
	}
	rootfs := filepath.Join(t.TempDir(), "busybox.tar")
	if out, err := exec.Command("tar", "-C", testutil.BusyboxRootfs(t), "-cf", rootfs, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", "../../scripts/docker-compat.sh", ladeBin, rootfs).CombinedOutput()
	t.Logf("docker-compat.sh:\n%s", out)
	if err != nil {
		t.Errorf("docker-compat.sh: %v", err)
	}
}
