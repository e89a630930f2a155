package userns_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// ladeBin is the lade binary TestMain builds; empty if that failed.
var ladeBin string

func TestMain(m *testing.M) {
	os.Exit(testutil.MainWithLade(m, &ladeBin))
}

// rootless gives a fresh unprivileged user and a busybox rootfs tar in
// its home.
func rootless(t *testing.T) (*testutil.RootlessUser, string) {
	t.Helper()
	u := testutil.NewRootlessUser(t)
	if ladeBin == "" {
		t.Fatal("lade binary was not built (see TestMain output)")
	}
	bb := filepath.Join(u.Home, "busybox.tar")
	if err := os.WriteFile(bb, testutil.TarDir(t, testutil.BusyboxRootfs(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	return u, bb
}

// asUser runs lade as u and fails the test unless it succeeds.
func asUser(t *testing.T, u *testutil.RootlessUser, env []string, args ...string) string {
	t.Helper()
	code, out, errs := u.Run(t, ladeBin, env, args...)
	if code != 0 {
		t.Fatalf("lade %s as %s: exit %d\n%s", strings.Join(args, " "), testutil.RootlessName, code, errs)
	}
	return out
}

// asRoot runs lade as root in dir with --root root.
func asRoot(t *testing.T, dir, root string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(ladeBin, append([]string{"--root", root}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lade %s as root: %v\n%s", strings.Join(args, " "), err, stderrOf(err))
	}
	return string(out)
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// A rootless build gives the image a root build gives, byte for byte:
// owners, modes, setuid bits, whiteouts, opaque dirs and hardlinks; also
// where overlayfs is refused (the user's store on overlayfs itself) and
// lade copies snapshots instead.
func TestRootlessBuildMatchesRoot(t *testing.T) {
	u, bb := rootless(t)
	// One base image for all: import records the time it ran.
	root := t.TempDir()
	saved := filepath.Join(u.Home, "saved.tar")
	asRoot(t, "/", root, nil, "import", bb, "busybox")
	asRoot(t, "/", root, nil, "save", "-o", saved, "busybox")
	if err := os.Chmod(saved, 0o644); err != nil {
		t.Fatal(err)
	}
	copying := testutil.NewRootlessUser(t)
	overlayData(t, copying)
	for _, who := range []*testutil.RootlessUser{u, copying} {
		asUser(t, who, nil, "load", "-i", saved)
	}
	tests := []struct{ name, dockerfile string }{
		{"chown", "FROM busybox\nRUN echo hi > /f && chown 1000:1000 /f && chown -h 1000:1000 /bin/sh && chown 65534:65534 /tmp"},
		{"chmod and setuid", "FROM busybox\nRUN chmod 4755 /bin/busybox && chmod 2775 /var/tmp && chmod 0600 /etc/passwd"},
		{"whiteout", "FROM busybox\nRUN rm /bin/vi /etc/group"},
		{"opaque dir", "FROM busybox\nRUN rm -rf /home && mkdir -p /home/new && echo x > /home/new/f"},
		{"hardlinks", "FROM busybox\nRUN echo a > /a && ln /a /b && mkdir /d && ln /a /d/c && chown 1000:1000 /a"},
		{"copy chown", "FROM busybox\nCOPY --chown=1000:1000 f /f\nCOPY f /root/g"},
		{"stages", "FROM busybox AS a\nRUN echo x > /x && chown 1000:1000 /x && chmod 4700 /x\nFROM busybox\nCOPY --from=a /x /x\nRUN rm -rf /var && mkdir /var"},
	}
	env := []string{"SOURCE_DATE_EPOCH=0"}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := filepath.Join(u.Home, fmt.Sprintf("ctx%d", i))
			files := map[string]string{"Dockerfile": tt.dockerfile + "\n", "f": "data\n"}
			testutil.WriteTree(t, ctx, files)
			for _, p := range []string{ctx, filepath.Join(ctx, "Dockerfile"), filepath.Join(ctx, "f")} {
				if err := os.Chown(p, u.UID, u.GID); err != nil {
					t.Fatal(err)
				}
			}
			want := strings.TrimSpace(asRoot(t, ctx, root, env, "build", "-q", "."))
			got := strings.TrimSpace(asUser(t, u, env, "build", "-q", ctx))
			if got != want {
				t.Errorf("rootless build of %q = %s, root build = %s", tt.dockerfile, got, want)
			}
			code, out, errs := copying.Run(t, ladeBin, env, "build", "-q", ctx)
			if got := strings.TrimSpace(out); code != 0 || got != want || !strings.Contains(errs, "build steps copy their snapshots") {
				t.Errorf("rootless build of %q copying snapshots: exit %d, %s, want %s and a warning; stderr:\n%s", tt.dockerfile, code, got, want, errs)
			}
		})
	}
}

// overlayData puts u's store on overlayfs, where a user namespace cannot
// mount overlayfs again (an upper dir on overlayfs).
func overlayData(t *testing.T, u *testutil.RootlessUser) {
	t.Helper()
	o := filepath.Join(u.Home, "ovl")
	for _, d := range []string{"lower", "upper", "work", "../data"} {
		if err := os.MkdirAll(filepath.Join(o, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(u.Home, "data")
	opts := fmt.Sprintf("lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work", o, o, o)
	if out, err := exec.Command("mount", "-t", "overlay", "overlay", "-o", opts, data).CombinedOutput(); err != nil {
		t.Fatalf("mount overlay: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", data).Run() })
	if err := os.Chown(data, u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
}

// A rootless container sees the ids the Dockerfile set, runs detached,
// takes exec, stop, ps -a and rm, and refuses limits it cannot enforce.
func TestRootlessRun(t *testing.T) {
	u, bb := rootless(t)
	asUser(t, u, nil, "import", bb, "busybox")
	ctx := filepath.Join(u.Home, "ctx")
	testutil.WriteTree(t, ctx, map[string]string{"Dockerfile": "FROM busybox\nRUN echo hi > /f && chown 1000:1000 /f\n"})
	asUser(t, u, nil, "build", "-q", "-t", "owned", ctx)
	if _, err := os.Stat(filepath.Join(u.Home, "data", "lade", "images")); err != nil {
		t.Errorf("rootless state is not under $XDG_DATA_HOME/lade: %v", err)
	}
	checks := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--rm", "owned", "stat", "-c", "%u:%g", "/f"}, "1000:1000"},
		{[]string{"run", "--rm", "--user", "1000", "owned", "sh", "-c", "touch /tmp/n && stat -c %u /tmp/n"}, "1000"},
		{[]string{"run", "--rm", "--network", "host", "owned", "id", "-u"}, "0"},
		{[]string{"run", "-d", "--name", "c1", "--user", "1000", "owned", "sleep", "600"}, ""},
		{[]string{"ps", "-a"}, "Up "},
		{[]string{"exec", "c1", "id", "-u"}, "1000"},
		{[]string{"exec", "--user", "0", "c1", "stat", "-c", "%u", "/f"}, "1000"},
		{[]string{"stop", "-t", "1", "c1"}, "c1"},
		{[]string{"ps", "-a"}, "Exited (137)"},
		{[]string{"rm", "c1"}, "c1"},
	}
	for _, c := range checks {
		if out := asUser(t, u, nil, c.args...); !strings.Contains(out, c.want) {
			t.Errorf("lade %s as %s printed %q, want %q in it", strings.Join(c.args, " "), testutil.RootlessName, out, c.want)
		}
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory/cgroup.procs"); err == nil {
		code, _, errs := u.Run(t, ladeBin, nil, "run", "--rm", "-m", "64m", "owned", "true")
		if want := "--memory cannot be enforced rootless: this host has cgroup v1"; code != 125 || !strings.Contains(errs, want) {
			t.Errorf("rootless run -m on a cgroup v1 host: exit %d, %q; want 125 and %q", code, errs, want)
		}
	}
}

// As the user: build and push, a cached rebuild, then pull and run show
// the owner the Dockerfile set.
func TestRootlessPushPull(t *testing.T) {
	u, bb := rootless(t)
	asUser(t, u, nil, "import", bb, "busybox")
	ref := testutil.Registry(t, nil) + "/owned:1"
	ctx := filepath.Join(u.Home, "ctx")
	testutil.WriteTree(t, ctx, map[string]string{"Dockerfile": "FROM busybox\nRUN echo hi > /f && chown 1000:1000 /f\n"})
	asUser(t, u, nil, "build", "-q", "-t", ref, ctx)
	asUser(t, u, nil, "push", "-q", ref)
	code, _, errs := u.Run(t, ladeBin, nil, "build", "--progress", "plain", "-t", ref, ctx)
	if code != 0 || !strings.Contains(errs, "CACHED") {
		t.Errorf("rebuild as the user: exit %d, want CACHED in:\n%s", code, errs)
	}
	asUser(t, u, nil, "rmi", ref)
	asUser(t, u, nil, "pull", "-q", ref)
	if out := asUser(t, u, nil, "run", "--rm", ref, "stat", "-c", "%u:%g", "/f"); strings.TrimSpace(out) != "1000:1000" {
		t.Errorf("pulled image's /f is owned by %q, want 1000:1000", out)
	}
}
