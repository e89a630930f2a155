package binfmt

import (
	"bytes"
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

// When no aarch64 handler is enabled, Prepare registers one of its own
// with the F flag, and an arm64 program then runs through it in another
// root (a chroot holding only it), which only an F handler allows.
// Handlers are global and other tests on this host run arm64 programs,
// so the host's are never all off at once: Prepare looks at a copy of
// binfmt_misc in which they are disabled (its register file is the
// kernel's), and the host's are disabled for real only while lade's runs
// the program, then enabled again, before lade's is removed.
func TestPrepareRegistersHandler(t *testing.T) {
	testutil.RequireRoot(t)
	if system.native(v1.Platform{OS: "linux", Architecture: "arm64"}) {
		t.Skip("arm64 programs run natively here")
	}
	bb := testutil.BusyboxArm64(t)
	if _, err := system.emulator(v1.Platform{}, targets["arm64"]); err != nil {
		testutil.Unavailable(t, "needs %s: %v", Package, err)
	}
	if _, err := system.rules(); err != nil {
		testutil.Unavailable(t, "binfmt_misc: %v", err)
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
	hdr := targets["arm64"].header()
	// binfmt-support's description when installed, and qemu-aarch64-static
	// from $PATH with qemu's rule (as without binfmt-support)
	for _, packages := range []string{system.packages, t.TempDir()} {
		err = flock.With(ctx, filepath.Join(os.TempDir(), "lade-binfmt-test.lock"), unix.LOCK_EX, func() error {
			setEntry(t, "lade-qemu-aarch64", "-1")
			defer setEntry(t, "lade-qemu-aarch64", "-1")
			h := system
			h.misc, h.packages = disabledView(t, hdr), packages
			if err := h.prepare(v1.Platform{OS: "linux", Architecture: "arm64"}); err != nil {
				return err
			}
			runAlone(t, hdr, root)
			return nil
		})
		if err != nil {
			t.Fatalf("prepare with %s: %v", packages, err)
		}
	}
}

// disabledView is a copy of binfmt_misc in which the handlers matching
// hdr are disabled; its register file is the kernel's.
func disabledView(t *testing.T, hdr []byte) string {
	t.Helper()
	dir := t.TempDir()
	ents, err := os.ReadDir(system.misc)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		src, dst := filepath.Join(system.misc, e.Name()), filepath.Join(dir, e.Name())
		if e.Name() == "register" {
			err = os.Symlink(src, dst)
		} else if b, rerr := os.ReadFile(src); rerr == nil {
			if parseEntry(e.Name(), b).matches(hdr) {
				b = bytes.Replace(b, []byte("enabled\n"), []byte("disabled\n"), 1)
			}
			err = os.WriteFile(dst, b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runAlone disables the host's handlers matching hdr but lade's, checks
// lade's and runs uname -m of an arm64 busybox in root through it, and
// enables them again.
func runAlone(t *testing.T, hdr []byte, root string) {
	t.Helper()
	rules, err := system.rules()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if r.enabled && r.matches(hdr) && !strings.HasPrefix(r.name, "lade-") {
			setEntry(t, r.name, "0")
			defer setEntry(t, r.name, "1")
		}
	}
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

// setEntry writes v to the binfmt_misc entry name ("1" enables, "0"
// disables, "-1" removes); a missing entry is no error.
func setEntry(t *testing.T, name, v string) {
	t.Helper()
	if err := write(filepath.Join(system.misc, name), v); err != nil && !os.IsNotExist(err) {
		t.Errorf("binfmt_misc %s = %s: %v", name, v, err)
	}
}
