package binfmt

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/flock"
	"github.com/lade-build/lade/internal/testutil"
)

// With the host's aarch64 handlers disabled, Prepare registers one of its
// own with the F flag, and an arm64 program then runs in another root (a
// chroot holding only it), which only an F handler allows. The handlers
// are global: the test holds a lock against other runs of itself,
// disables them only for the moment Prepare looks, and restores them.
func TestPrepareRegistersHandler(t *testing.T) {
	testutil.RequireRoot(t)
	if system.native(v1.Platform{OS: "linux", Architecture: "arm64"}) {
		t.Skip("arm64 programs run natively here")
	}
	bb := testutil.BusyboxArm64(t)
	if _, err := system.emulator(v1.Platform{}, targets["arm64"]); err != nil {
		testutil.Unavailable(t, "needs %s: %v", Package, err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// binfmt-support's description when installed, and qemu-aarch64-static
	// from $PATH with qemu's rule (as without binfmt-support)
	bare := system
	bare.packages = t.TempDir()
	for _, h := range []host{system, bare} {
		err = flock.With(ctx, filepath.Join(os.TempDir(), "lade-binfmt-test.lock"), unix.LOCK_EX, func() error {
			restore := disableHandlers(t, targets["arm64"].header())
			defer restore()
			if err := h.prepare(v1.Platform{OS: "linux", Architecture: "arm64"}); err != nil {
				return err
			}
			checkRegistered(t, root)
			return nil
		})
		if err != nil {
			t.Fatalf("prepare with %s: %v", h.packages, err)
		}
	}
}

// checkRegistered checks lade's handler and runs uname -m of an arm64
// busybox in root through it.
func checkRegistered(t *testing.T, root string) {
	t.Helper()
	own, err := os.ReadFile(filepath.Join(system.misc, "lade-qemu-aarch64"))
	if r := parseEntry("lade-qemu-aarch64", own); err != nil || !r.enabled || !strings.Contains(r.flags, "F") {
		t.Fatalf("lade-qemu-aarch64: %q, %v", own, err)
	}
	cmd := exec.Command("/bin/busybox", "uname", "-m")
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "aarch64\n" {
		t.Errorf("arm64 uname -m in a chroot: %q, %v", out, err)
	}
}

// disableHandlers disables every enabled binfmt_misc handler matching
// hdr and removes lade's own; the returned func enables them again first
// and then removes what Prepare registered.
func disableHandlers(t *testing.T, hdr []byte) func() {
	t.Helper()
	rules, err := system.rules()
	if err != nil {
		testutil.Unavailable(t, "binfmt_misc: %v", err)
	}
	set := func(name, v string) error {
		return os.WriteFile(filepath.Join(system.misc, name), []byte(v), 0)
	}
	var disabled []string
	for _, r := range rules {
		switch {
		case !r.matches(hdr):
		case strings.HasPrefix(r.name, "lade-"):
			if err := set(r.name, "-1"); err != nil {
				t.Fatal(err)
			}
		case r.enabled:
			if err := set(r.name, "0"); err != nil {
				t.Fatal(err)
			}
			disabled = append(disabled, r.name)
		}
	}
	return func() {
		for _, name := range disabled {
			if err := set(name, "1"); err != nil {
				t.Errorf("enabling %s again: %v", name, err)
			}
		}
		if err := set("lade-qemu-aarch64", "-1"); err != nil && !os.IsNotExist(err) {
			t.Errorf("removing lade-qemu-aarch64: %v", err)
		}
	}
}
