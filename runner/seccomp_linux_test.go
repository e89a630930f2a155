package runner

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/runner/seccomp"
)

const denyMkdir = `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
	{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}`

func mustProfile(t *testing.T, opt string) *seccomp.Profile {
	t.Helper()
	p, err := seccomp.ForContainer(opt, false)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Containers run under the filter in the kernel: what it denies fails,
// everything an ordinary command needs works.
func TestSeccompInContainer(t *testing.T) {
	rootfs := newRootfs(t)
	status := `grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status | tr -d '\t' | sort`
	// unshare(CLONE_NEWUSER) needs no capability, so only a filter stops it.
	userns := "unshare -U true 2>&1 && echo userns-ok || true"
	def := seccomp.Default()
	kill := `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]}`
	tests := []struct {
		name   string
		edit   func(*Spec)
		script string
		code   int
		want   string // exact stdout
	}{
		{name: "default filter is on", script: status,
			want: "NoNewPrivs:0\nSeccomp:2\n"},
		{name: "no filter", edit: func(s *Spec) { s.Seccomp = nil }, script: status,
			want: "NoNewPrivs:0\nSeccomp:0\n"},
		{name: "user namespace denied", script: userns,
			want: "unshare: unshare(0x10000000): Operation not permitted\n"},
		{name: "user namespace unconfined", edit: func(s *Spec) { s.Seccomp = nil }, script: userns,
			want: "userns-ok\n"},
		{name: "user namespace with CAP_SYS_ADMIN",
			edit:   func(s *Spec) { s.Capabilities = append(s.Capabilities, "CAP_SYS_ADMIN") },
			script: userns, want: "userns-ok\n"},
		{name: "ordinary commands work", script: "mkdir /tmp/d && echo hi > /tmp/d/f && cat /tmp/d/f && ls /tmp/d && " +
			"wc -l < /etc/passwd && ps >/dev/null && linux32 uname -m && echo done",
			want: "hi\nf\n2\ni686\ndone\n"},
		{name: "httpd serves", edit: func(s *Spec) { s.Network = NetworkNone },
			script: "mkdir /tmp/www && echo page > /tmp/www/index.html && httpd -p 127.0.0.1:8080 -h /tmp/www && " +
				"for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://127.0.0.1:8080/ 2>/dev/null && break; sleep 0.2; done",
			want: "page\n"},
		{name: "non-root user", edit: func(s *Spec) { s.UID, s.GID = 1000, 1000 },
			script: "id -u; " + status, want: "1000\nNoNewPrivs:0\nSeccomp:2\n"},
		{name: "no-new-privileges installs it last", edit: func(s *Spec) { s.NoNewPrivileges = true },
			script: status + "; " + userns, want: "NoNewPrivs:1\nSeccomp:2\nunshare: unshare(0x10000000): Operation not permitted\n"},
		{name: "custom profile denies mkdir", edit: func(s *Spec) { s.Seccomp = mustProfile(t, denyMkdir) },
			script: "mkdir /tmp/x 2>&1; test -d /tmp/x || echo no-dir; touch /tmp/file && echo touch-ok; " + userns,
			want:   "mkdir: can't create directory '/tmp/x': Operation not permitted\nno-dir\ntouch-ok\nuserns-ok\n"},
		{name: "filter flags go through seccomp(2)", edit: func(s *Spec) {
			s.Seccomp = mustProfile(t, `{"defaultAction": "SCMP_ACT_ALLOW",
				"flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC"],
				"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}`)
		}, script: "mkdir /tmp/y 2>/dev/null || echo denied; " + status, want: "denied\nNoNewPrivs:0\nSeccomp:2\n"},
		{name: "kill action", edit: func(s *Spec) { s.Seccomp = mustProfile(t, kill) },
			script: "exec mkdir /tmp/x", code: 128 + int(unix.SIGSYS)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := baseSpec(rootfs, "sh", "-c", tc.script)
			spec.Capabilities = append([]string(nil), DefaultCapabilities...)
			spec.Seccomp = def
			if tc.edit != nil {
				tc.edit(spec)
			}
			r := run(t, spec)
			if r.err != nil || r.code != tc.code {
				t.Fatalf("Run = %d, %v; want %d (stdout %q, stderr %q)", r.code, r.err, tc.code, r.stdout, r.stderr)
			}
			if r.stdout != tc.want {
				t.Errorf("stdout %q, want %q (stderr %q)", r.stdout, tc.want, r.stderr)
			}
		})
	}
}

// A profile that breaks the init's own setup is reported, not hidden.
func TestSeccompBlockingSetupFails(t *testing.T) {
	rootfs := newRootfs(t)
	spec := baseSpec(rootfs, "true")
	spec.UID = 1000
	spec.Seccomp = mustProfile(t, `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["setuid", "setresuid"], "action": "SCMP_ACT_ERRNO"}]}`)
	r := run(t, spec)
	if r.err == nil || !strings.Contains(r.err.Error(), "setuid 1000: operation not permitted") {
		t.Fatalf("Run = %d, %v; want the setuid failure", r.code, r.err)
	}
}

// seccompContainer starts a long-running container under spec's filter
// and returns its init's pid; the container is killed at cleanup.
func seccompContainer(t *testing.T, spec *Spec) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pids := make(chan int, 1)
	spec.Started = func(pid int) error { pids <- pid; return nil }
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = New().Run(ctx, spec)
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case pid := <-pids:
		// Started runs before the init execs: wait until sleep is pid 1.
		if testutil.PollUntil(20*time.Second, func() bool { b, _ := readProcComm(pid); return b == "sleep" }) {
			return pid
		}
		t.Fatal("container did not exec sleep")
	case <-done:
		t.Fatal("container ended early")
	}
	return 0
}

func readProcComm(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b)), err
}

// Exec gets the filter it is given, like the container's own process.
func TestSeccompExec(t *testing.T) {
	rootfs := newRootfs(t)
	spec := baseSpec(rootfs, "sleep", "1000")
	spec.Capabilities = DefaultCapabilities
	spec.Seccomp = seccomp.Default()
	pid := seccompContainer(t, spec)
	script := "grep '^Seccomp:' /proc/self/status | tr -d '\\t'; unshare -U true 2>&1 || true; mkdir /tmp/e 2>&1 && echo mkdir-ok"
	for _, tc := range []struct {
		name    string
		profile *seccomp.Profile
		want    string
	}{
		{"default", seccomp.Default(), "Seccomp:2\nunshare: unshare(0x10000000): Operation not permitted\nmkdir-ok\n"},
		{"custom", mustProfile(t, denyMkdir), "Seccomp:2\nmkdir: can't create directory '/tmp/e': Operation not permitted\n"},
		{"none", nil, "Seccomp:0\nmkdir-ok\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			code, err := New().Exec(ctx, pid, &ExecSpec{
				Args: []string{"sh", "-c", script + "; rmdir /tmp/e 2>/dev/null; true"}, Env: []string{"PATH=/bin"},
				Capabilities: DefaultCapabilities, Seccomp: tc.profile, Stdout: &out, Stderr: &out,
			})
			if err != nil || code != 0 {
				t.Fatalf("Exec = %d, %v (output %q)", code, err, out.String())
			}
			if out.String() != tc.want {
				t.Errorf("output %q, want %q", out.String(), tc.want)
			}
		})
	}
	strict := mustProfile(t, `{"defaultAction": "SCMP_ACT_KILL_PROCESS", "syscalls": [
		{"names": ["execve", "exit_group", "read", "write"], "action": "SCMP_ACT_ALLOW"}]}`)
	code, err := New().Exec(context.Background(), pid, &ExecSpec{Args: []string{"true"}, Env: []string{"PATH=/bin"}, Seccomp: strict})
	if err == nil || !strings.Contains(err.Error(), "seccomp profile denies futex") {
		t.Errorf("Exec with a profile that kills lade's thread = %d, %v; want it refused", code, err)
	}
}
