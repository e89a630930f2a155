package testutil

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RootlessName is the unprivileged user rootless tests run lade as.
const RootlessName = "ladetest"

// RootlessUser is that user with a fresh home of its own for one test.
type RootlessUser struct {
	UID, GID int
	// Home is a temp dir the user owns, also its XDG data and runtime
	// dirs' parent; removed after the test.
	Home string
}

// NewRootlessUser makes sure the user RootlessName exists with the
// subordinate range 100000:65536 in /etc/subuid and /etc/subgid (making
// them as `useradd` and an appended line would, idempotently) and gives
// it a fresh home. Creating users needs root: for anyone else the test
// skips, like every test RequireRoot gates. Missing newuidmap (Debian's
// uidmap, which scripts/test.sh installs) is Unavailable.
func NewRootlessUser(t testing.TB) *RootlessUser {
	t.Helper()
	RequireRoot(t)
	for _, tool := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			Unavailable(t, "needs %s: apt-get install uidmap", tool)
		}
	}
	u, err := user.Lookup(RootlessName)
	if err != nil {
		// Another test package may be adding it right now: look again.
		out, aerr := exec.Command("useradd", "--no-create-home", "--shell", "/bin/sh", RootlessName).CombinedOutput()
		if u, err = user.Lookup(RootlessName); err != nil {
			t.Fatalf("useradd %s: %v: %s", RootlessName, aerr, out)
		}
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		must(t, addSubRange(f, RootlessName))
	}
	r := &RootlessUser{}
	r.UID, _ = strconv.Atoi(u.Uid)
	r.GID, _ = strconv.Atoi(u.Gid)
	home, err := os.MkdirTemp("", "lade-rootless-")
	must(t, err)
	t.Cleanup(func() { r.cleanup() })
	r.Home = home
	for _, d := range []string{home, filepath.Join(home, "run")} {
		must(t, os.MkdirAll(d, 0o700))
		must(t, os.Chown(d, r.UID, r.GID))
	}
	must(t, os.Chmod(home, 0o755))
	return r
}

// addSubRange appends "name:100000:65536" to file unless name has a range.
func addSubRange(file, name string) error {
	data, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, name+":") {
			return nil
		}
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%s:100000:65536\n", name)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Command runs bin as the user, in its home, with HOME, XDG_DATA_HOME and
// XDG_RUNTIME_DIR there and no LADE_ROOT; extra env entries are added.
func (r *RootlessUser) Command(bin string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir = r.Home
	cmd.Env = append([]string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + r.Home,
		"XDG_DATA_HOME=" + filepath.Join(r.Home, "data"),
		"XDG_RUNTIME_DIR=" + filepath.Join(r.Home, "run"),
	}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(r.UID), Gid: uint32(r.GID), Groups: []uint32{}},
	}
	return cmd
}

// Run runs bin as the user and returns its exit code, stdout and stderr.
func (r *RootlessUser) Run(t testing.TB, bin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := r.Command(bin, env, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	must(t, err)
	return 0, out.String(), errb.String()
}

// cleanup kills the process holding the user's namespaces for this home
// (its mounts go with it) and removes the home.
func (r *RootlessUser) cleanup() {
	if data, err := os.ReadFile(filepath.Join(r.Home, "run", "lade", "userns.pid")); err == nil {
		if f := strings.Fields(string(data)); len(f) > 0 {
			if pid, err := strconv.Atoi(f[0]); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				// Gone, or a zombie, which holds no namespace.
				ns := fmt.Sprintf("/proc/%d/ns/mnt", pid)
				PollUntil(5*time.Second, func() bool { _, err := os.Stat(ns); return err != nil })
			}
		}
	}
	_ = os.RemoveAll(r.Home)
}
