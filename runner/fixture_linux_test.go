package runner

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

func TestMain(m *testing.M) {
	if Reexec() {
		return
	}
	os.Exit(m.Run())
}

const busyboxPath = "/bin/busybox"

// newRootfs builds a minimal busybox root filesystem in a temp dir: every
// applet in /bin, /etc/passwd, /etc/group and an empty /tmp. It has no
// /proc, /dev, /sys or /run, so Run must create and remove those stubs.
// Every test that needs one runs containers, so it skips unless root.
func newRootfs(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.Busybox(t)
	root := t.TempDir()
	for _, d := range []string{"bin", "etc", "tmp", "root"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, busyboxPath, filepath.Join(root, "bin/busybox"), 0o755)
	list, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/tmp:/bin/sh\n")
	writeFile(t, filepath.Join(root, "etc/group"), "root:x:0:\nwheel:x:10:\nusers:x:100:\nuser:x:1000:\n")
	return root
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// result is one container run.
type result struct {
	code           int
	err            error
	stdout, stderr string
}

// baseSpec is a root shell-ready spec on rootfs.
func baseSpec(rootfs string, args ...string) *Spec {
	return &Spec{
		Rootfs: rootfs,
		Args:   args,
		Env:    []string{"PATH=/bin"},
		Cwd:    "/",
	}
}

// run runs spec with a generous timeout and captures its output.
func run(t *testing.T, spec *Spec) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	spec.Stdout, spec.Stderr = &out, &errOut
	code, err := New().Run(ctx, spec)
	return result{code: code, err: err, stdout: out.String(), stderr: errOut.String()}
}

// procsWithCmdline lists host pids whose argv is exactly args.
func procsWithCmdline(args ...string) []string {
	want := strings.Join(args, "\x00") + "\x00"
	var pids []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && string(b) == want {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// hostMounts returns the host's mount table, leaving out mounts under the
// temp dir that belong to other tests running concurrently: only entries
// below one of ours are kept there.
func hostMounts(t *testing.T, ours ...string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tmp := filepath.Clean(os.TempDir())
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := fields[4]
		keep := !within(mp, tmp)
		for _, o := range ours {
			keep = keep || within(mp, o)
		}
		if keep {
			lines = append(lines, sc.Text())
		}
	}
	return lines
}

func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// pollUntil retries fn every 20ms for up to 30s.
func pollUntil(t *testing.T, what string, fn func() bool) {
	t.Helper()
	if !testutil.PollUntil(30*time.Second, fn) {
		t.Fatalf("timed out waiting for %s", what)
	}
}
