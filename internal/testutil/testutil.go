package testutil

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// RequireRoot skips the test unless it runs as root with overlayfs. It is
// the one gate for everything that needs privilege: namespaces, mounts,
// chown, mknod, trusted.* xattrs and cgroups.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (namespaces, mounts, chown): run the tests as root")
	}
	fs, err := os.ReadFile("/proc/filesystems")
	if err != nil || !bytes.Contains(fs, []byte("\toverlay\n")) {
		t.Skip("needs overlayfs in the kernel (modprobe overlay)")
	}
}

// Unavailable stops a test whose tool or service is missing: a failure
// under CI (CI=true), where scripts/test.sh installs everything the tests
// use, and a skip elsewhere, so a developer without docker.io can still
// run the rest.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI: "+format, args...)
	}
	t.Skipf(format+" (run scripts/test.sh to install)", args...)
}

// Busybox is the path of a static busybox binary, or the test is skipped.
func Busybox(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("LADE_TEST_BUSYBOX"); p != "" && isStatic(p) {
		return p
	}
	if isStatic("/bin/busybox") {
		return "/bin/busybox"
	}
	Unavailable(t, "needs a static busybox at /bin/busybox: apt-get install busybox-static")
	return ""
}

// BusyboxRootfs writes a busybox root filesystem into a new temp dir: every
// applet as a symlink, /etc/passwd with root, app (1000) and nobody,
// /tmp 1777, /etc/hostname "busybox".
func BusyboxRootfs(t testing.TB) string {
	t.Helper()
	return busyboxRootfs(t, Busybox(t))
}

// busyboxRootfs is BusyboxRootfs with the binary bin; the applet list
// comes from the host's busybox, so bin may be of another architecture.
func busyboxRootfs(t testing.TB, bin string) string {
	t.Helper()
	bb := Busybox(t)
	root := t.TempDir()
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "var/tmp", "root", "home/app", "dev", "proc", "sys"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	data, err := os.ReadFile(bin)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(root, "bin/busybox"), data, 0o755))
	out, err := exec.Command(bb, "--list-full").Output()
	must(t, err)
	for _, a := range strings.Fields(string(out)) {
		if a == "bin/busybox" {
			continue
		}
		p := filepath.Join(root, a)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		rel, err := filepath.Rel(filepath.Dir(p), filepath.Join(root, "bin/busybox"))
		must(t, err)
		must(t, os.Symlink(rel, p))
	}
	files := map[string]string{
		"etc/passwd":   "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":    "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n",
		"etc/hostname": "busybox\n",
	}
	for n, d := range files {
		must(t, os.WriteFile(filepath.Join(root, n), []byte(d), 0o644))
	}
	must(t, os.Chmod(filepath.Join(root, "tmp"), 0o1777))
	must(t, os.Chmod(filepath.Join(root, "var/tmp"), 0o1777))
	must(t, os.Chmod(filepath.Join(root, "root"), 0o700))
	if os.Geteuid() == 0 {
		must(t, os.Chown(filepath.Join(root, "home/app"), 1000, 1000))
	}
	return root
}

// TarDir packs dir as a deterministic layer tar: sorted, numeric ids,
// mtime 0.
func TarDir(t testing.TB, dir string) []byte {
	t.Helper()
	var paths []string
	must(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			paths = append(paths, p)
		}
		return nil
	}))
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		fi, err := os.Lstat(p)
		must(t, err)
		link := ""
		if fi.Mode()&os.ModeSymlink != 0 {
			link, err = os.Readlink(p)
			must(t, err)
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		must(t, err)
		rel, _ := filepath.Rel(dir, p)
		hdr.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		hdr.ModTime = zeroTime
		hdr.AccessTime, hdr.ChangeTime = zeroTime, zeroTime
		hdr.Format = tar.FormatPAX
		must(t, tw.WriteHeader(hdr))
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			must(t, err)
			_, err = io.Copy(tw, f)
			f.Close()
			must(t, err)
		}
	}
	must(t, tw.Close())
	return buf.Bytes()
}

// BusyboxImage is a one-layer busybox image with OCI media types, config
// Env PATH and Cmd ["/bin/sh"], like the image BuildKit's reference builds
// used.
func BusyboxImage(t testing.TB) v1.Image {
	t.Helper()
	return busyboxImage(t, Busybox(t), "amd64")
}

// busyboxImage is BusyboxImage of the busybox binary bin, built for arch.
func busyboxImage(t testing.TB, bin, arch string) v1.Image {
	t.Helper()
	data := TarDir(t, busyboxRootfs(t, bin))
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	must(t, err)
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	must(t, err)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return EditConfig(t, img, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture = "linux", arch
		cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
		cf.Config.Cmd = []string{"/bin/sh"}
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var zeroTime = time.Unix(0, 0)

// PollUntil calls fn every 20ms until it reports true, and reports false
// if d passes first: tests wait for a condition, never a fixed time.
func PollUntil(d time.Duration, fn func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if fn() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Poll waits up to 30s for fn to report true and fails t, naming what it
// waited for, when it does not.
func Poll(t testing.TB, what string, fn func() bool) {
	t.Helper()
	if !PollUntil(30*time.Second, fn) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// WaitForFile reports whether p exists, polling for at most d.
func WaitForFile(p string, d time.Duration) bool {
	return PollUntil(d, func() bool {
		_, err := os.Stat(p)
		return err == nil
	})
}
