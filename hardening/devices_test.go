package hardening

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Docker's capability set keeps CAP_MKNOD; what makes that safe is the
// device allow-list. Without it a RUN step or a container makes a node
// for the host's /dev/kmsg (or a disk) and opens it.

// markOnce is a unique string a case tries to write to the host's kernel
// log through a node it made itself.
func markOnce() string {
	return fmt.Sprintf("lade-devices-%d-%d", os.Getpid(), time.Now().UnixNano())
}

// kmsgHas reads the host's kernel log from its start and reports whether
// marker is in it.
func kmsgHas(t *testing.T, marker string) bool {
	t.Helper()
	// Raw syscalls: os.File would wait in the poller instead of EAGAIN.
	fd, err := syscall.Open("/dev/kmsg", syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("cannot read the host's kernel log: %v", err)
	}
	defer syscall.Close(fd)
	buf := make([]byte, 8192)
	for range 1 << 20 {
		n, err := syscall.Read(fd, buf)
		if errors.Is(err, syscall.EAGAIN) {
			return false
		}
		if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.EINTR) {
			continue // records overwritten while reading
		}
		if err != nil {
			t.Fatalf("reading /dev/kmsg: %v", err)
		}
		if strings.Contains(string(buf[:max(n, 0)]), marker) {
			return true
		}
	}
	t.Fatal("the kernel log did not end")
	return false
}

// writeKmsg makes a /dev/kmsg node and logs marker through it.
func writeKmsg(marker string) string {
	return fmt.Sprintf(`mknod /tmp/k c 1 11 && echo "<3>%s" > /tmp/k`, marker)
}

// stdDevices uses the devices every container keeps.
const stdDevices = `echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c && ! echo x 2>/dev/null > /dev/full`

func TestDeviceEscapeRUN(t *testing.T) {
	root := newRoot(t)
	marker := markOnce()
	ctx := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN " + writeKmsg(marker) + "\n"})
	r := lade(t, root, nil, "build", "--progress", "plain", "-t", "out", ctx)
	wantFail(t, r, "Operation not permitted")
	if kmsgHas(t, marker) {
		t.Fatal("a RUN step wrote to the host's kernel log through a node it made")
	}

	// The standard devices still work, and so does mknod alone.
	ctx = writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN " + stdDevices + " && mknod /tmp/n b 8 0\n"})
	wantOK(t, lade(t, root, nil, "build", "--progress", "plain", "-t", "ok", ctx))
}

func TestDeviceEscapeRun(t *testing.T) {
	root := newRoot(t)
	marker := markOnce()
	r := lade(t, root, nil, "run", "--rm", "busybox", "sh", "-c", writeKmsg(marker))
	if r.code == 0 || !strings.Contains(r.stderr, "Operation not permitted") || strings.Contains(r.stderr, "lade:") {
		t.Fatalf("lade run: exit %d, stderr %q; want the command's EPERM", r.code, r.stderr)
	}
	if kmsgHas(t, marker) {
		t.Fatal("a container wrote to the host's kernel log through a node it made")
	}
	r = lade(t, root, nil, "run", "--rm", "busybox", "sh", "-c", stdDevices+" && echo ok")
	if r.code != 0 || !strings.HasSuffix(r.stdout, "ok\n") {
		t.Fatalf("standard devices in a container: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A process exec'd into a running container is under the same rules.
	r = lade(t, root, nil, "run", "-d", "busybox", "sleep", "60")
	wantOK(t, r)
	id := strings.TrimSpace(r.stdout)
	t.Cleanup(func() { lade(t, root, nil, "rm", "-f", id) })
	marker = markOnce()
	r = lade(t, root, nil, "exec", id, "sh", "-c", writeKmsg(marker))
	if r.code == 0 || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Fatalf("lade exec: exit %d, stderr %q; want EPERM", r.code, r.stderr)
	}
	if kmsgHas(t, marker) {
		t.Fatal("an exec'd process wrote to the host's kernel log through a node it made")
	}
}

// The deliberate ways out: --privileged, --device and RUN
// --security=insecure. They open the node for reading only, which
// leaves the host's log alone.
func TestDeviceRulesLifted(t *testing.T) {
	root := newRoot(t)
	const openMade = `mknod /tmp/k c 1 11 && : < /tmp/k && echo opened`
	r := lade(t, root, nil, "run", "--rm", "--privileged", "busybox", "sh", "-c", openMade)
	if r.code != 0 || r.stdout != "opened\n" {
		t.Errorf("--privileged: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Writing to the log needs no capability, only the device rule.
	marker := markOnce()
	r = lade(t, root, nil, "run", "--rm", "--device", "/dev/kmsg:/dev/hostlog:w", "busybox", "sh", "-c",
		`echo "<6>`+marker+`" > /dev/hostlog && echo written`)
	if r.code != 0 || r.stdout != "written\n" || !kmsgHas(t, marker) {
		t.Errorf("--device /dev/kmsg:/dev/hostlog:w: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = lade(t, root, nil, "run", "--rm", "--device", "/dev/kmsg:/dev/hostlog:r", "busybox", "sh", "-c",
		`ls -l /dev/hostlog && echo x > /dev/hostlog`)
	if r.code == 0 || !strings.HasPrefix(r.stdout, "crw") || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Errorf("--device /dev/kmsg:/dev/hostlog:r, writing: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = lade(t, root, nil, "run", "--rm", "--device", "/etc/passwd", "busybox", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "not a character or block device") {
		t.Errorf("--device of a regular file: exit %d, stderr %q", r.code, r.stderr)
	}

	ctx := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN --security=insecure " + openMade + "\n"})
	wantOK(t, lade(t, root, nil, "build", "--progress", "plain", "--allow", "security.insecure", "-t", "ins", ctx))
	// Without the entitlement the step is refused outright.
	wantFail(t, lade(t, root, nil, "build", "--progress", "plain", "-t", "ins2", ctx), "security.insecure")
}

// No cgroup of a step or a removed container is left behind.
func TestDeviceCgroupsCleanedUp(t *testing.T) {
	root := newRoot(t)
	ctx := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN true\nRUN true\n"})
	cmd := exec.Command(ladeBin, "--root", root, "build", "--progress", "plain", "-t", "out", ctx)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	r := lade(t, root, nil, "run", "-d", "busybox", "sleep", "60")
	wantOK(t, r)
	id := strings.TrimSpace(r.stdout)
	wantOK(t, lade(t, root, nil, "rm", "-f", id))
	steps := fmt.Sprintf("run-%d-", cmd.Process.Pid)
	for _, base := range []string{"/sys/fs/cgroup/devices/lade", "/sys/fs/cgroup/unified/lade", "/sys/fs/cgroup/lade"} {
		ents, _ := os.ReadDir(base)
		for _, e := range ents {
			if e.IsDir() && (strings.HasPrefix(e.Name(), steps) || e.Name() == id) {
				t.Errorf("left behind: %s", filepath.Join(base, e.Name()))
			}
		}
	}
}
