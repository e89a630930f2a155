package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/runner/binfmt"
	"github.com/lade-build/lade/runner/seccomp"
)

// newArm64Rootfs is newRootfs with Debian's arm64 busybox-static.
func newArm64Rootfs(t *testing.T) string {
	t.Helper()
	root := newRootfs(t)
	bb := filepath.Join(root, "bin/busybox")
	if err := os.Remove(bb); err != nil {
		t.Fatal(err)
	}
	copyFile(t, testutil.BusyboxArm64(t), bb, 0o755)
	return root
}

// An arm64 rootfs runs on this host through qemu (Spec.Platform makes
// sure a handler is there) under docker's default seccomp filter. qemu
// makes the host's syscalls, so the host's filter is what applies: a
// profile denying mkdir denies the emulated program's mkdirat.
func TestForeignPlatform(t *testing.T) {
	rootfs := newArm64Rootfs(t)
	arm64 := &v1.Platform{OS: "linux", Architecture: "arm64"}
	if err := binfmt.Prepare(*arm64); err != nil {
		testutil.Unavailable(t, "%v", err)
	}
	for _, tc := range []struct {
		name     string
		platform *v1.Platform
		profile  *seccomp.Profile
		args     []string
		out      string
		problem  string // Run's error; "" none
	}{
		{name: "uname", platform: arm64, profile: seccomp.Default(), args: []string{"uname", "-m"}, out: "aarch64\n"},
		{name: "shell forks and execs arm64 programs", platform: arm64, profile: seccomp.Default(),
			args: []string{"sh", "-c", "uname -m; mkdir /tmp/d && ls -d /tmp/d; grep -c ^Seccomp:.2 /proc/self/status"},
			out:  "aarch64\n/tmp/d\n1\n"},
		{name: "the host's filter applies", platform: arm64, profile: mustProfile(t, denyMkdir),
			args: []string{"sh", "-c", "mkdir /tmp/e 2>/dev/null || echo denied"}, out: "denied\n"},
		{name: "unknown architecture", platform: &v1.Platform{OS: "linux", Architecture: "sparc64"},
			args: []string{"uname", "-m"}, problem: `platform linux/sparc64: no emulation known for architecture "sparc64"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := baseSpec(rootfs, tc.args...)
			spec.Platform = tc.platform
			spec.Capabilities = DefaultCapabilities
			spec.NoNewPrivileges = true
			spec.Seccomp = tc.profile
			r := run(t, spec)
			if tc.problem != "" {
				if r.err == nil || !strings.Contains(r.err.Error(), tc.problem) {
					t.Fatalf("Run: %v, want an error with %q", r.err, tc.problem)
				}
				return
			}
			if r.err != nil || r.code != 0 || r.stdout != tc.out {
				t.Errorf("exit %d, stdout %q, stderr %q, err %v; want stdout %q", r.code, r.stdout, r.stderr, r.err, tc.out)
			}
		})
	}
}
