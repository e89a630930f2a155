package userns_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

// Kaniko's case: lade as a non-root user in a container without
// --privileged (and without newuidmap, nsenter or subordinate ids, so it
// maps the user alone). Each missing piece is one line naming it; with
// them all there, a build works.
func TestRootlessInUnprivilegedContainer(t *testing.T) {
	testutil.RequireRoot(t)
	if ladeBin == "" {
		t.Fatal("lade binary was not built (see TestMain output)")
	}
	host := testutil.Docker(t)
	img := filepath.Join(t.TempDir(), "img.tar")
	if err := os.WriteFile(img, testutil.TarDir(t, kanikoRootfs(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := testutil.RunDocker(host, time.Minute, "import", img, "lade-in-container"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	script := "lade --root /state import /base.tar base >/dev/null 2>&1; lade --root /state build -q /home/app/ctx 2>&1; echo rc=$?"
	tmpfs := []string{"--tmpfs", "/state:uid=1000,gid=1000,exec"}
	unconfined := append(tmpfs, "--security-opt", "seccomp=unconfined")
	all := append(unconfined, "--security-opt", "systempaths=unconfined")
	tests := []struct {
		name string
		opts []string
		want string // the only line before rc=
	}{
		{"default seccomp profile", tmpfs,
			"Error: rootless: creating a user namespace was refused (operation not permitted): a seccomp or AppArmor profile blocks unshare/clone(CLONE_NEWUSER)"},
		{"masked /proc", unconfined, "/proc is masked (over-mounted paths)"},
		{"all there", all, "sha256:"},
		// The store on the container's own overlayfs: snapshots are copied.
		{"no volume", all[2:], "sha256:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"run", "--rm", "--user", "1000:1000", "-e", "HOME=/home/app", "-e", "PATH=/bin"}, tt.opts...)
			out, err := testutil.RunDocker(host, 2*time.Minute, append(args, "lade-in-container", "/bin/sh", "-c", script)...)
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if !strings.HasPrefix(l, "WARNING: ") && !strings.HasPrefix(l, "rc=") {
					lines = append(lines, l)
				}
			}
			if tt.want != "sha256:" {
				// A build error adds the Dockerfile snippet below its line.
				lines = lines[:min(len(lines), 1)]
			}
			if len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
				t.Errorf("lade build in a container (%v) printed:\n%s\nwant one line with %q", tt.opts, out, tt.want)
			}
		})
	}
}

// kanikoRootfs is a container's root: static busybox and lade, a user app
// (1000) owning its home with a build context, and base.tar, a busybox
// base image of root-owned files only.
func kanikoRootfs(t *testing.T) string {
	base := t.TempDir()
	testutil.WriteTree(t, base, map[string]string{"bin/": "", "tmp/": ""})
	copyFile(t, testutil.Busybox(t), filepath.Join(base, "bin/busybox"))
	for _, a := range []string{"sh", "echo", "cat"} {
		if err := os.Symlink("busybox", filepath.Join(base, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	testutil.WriteTree(t, root, map[string]string{
		"etc/passwd":              "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
		"home/app/ctx/Dockerfile": "FROM base\nRUN echo ok > /ok && cat /ok\n",
		"bin/":                    "", "tmp/": "", "proc/": "", "sys/": "", "dev/": "", "state/": "",
	})
	if err := os.WriteFile(filepath.Join(root, "base.tar"), testutil.TarDir(t, base), 0o644); err != nil {
		t.Fatal(err)
	}
	copyFile(t, testutil.Busybox(t), filepath.Join(root, "bin/busybox"))
	copyFile(t, ladeBin, filepath.Join(root, "bin/lade"))
	if err := os.Symlink("busybox", filepath.Join(root, "bin/sh")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"home/app", "home/app/ctx", "home/app/ctx/Dockerfile", "state"} {
		if err := os.Chown(filepath.Join(root, p), 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func copyFile(t *testing.T, from, to string) {
	data, err := os.ReadFile(from)
	if err == nil {
		err = os.WriteFile(to, data, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
}
