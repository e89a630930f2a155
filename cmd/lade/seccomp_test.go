package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunSeccomp(t *testing.T) {
	root := newRoot(t)
	dir := t.TempDir()
	profile := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noMkdir := profile("no-mkdir.json", `{
	"defaultAction": "SCMP_ACT_ALLOW",
	"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
}`)
	status := []string{"sh", "-c", "grep '^Seccomp:' /proc/self/status | tr -d '\\t'"}
	// unshare(CLONE_NEWUSER) needs no capability: only a filter stops it.
	userns := []string{"sh", "-c", "unshare -U true 2>&1 && echo userns-ok || true"}
	denied := "unshare: unshare(0x10000000): Operation not permitted\n"
	tests := []struct {
		name string
		args []string
		cmd  []string
		want string
	}{
		{"default filter", nil, status, "Seccomp:2\n"},
		{"unconfined", []string{"--security-opt", "seccomp=unconfined"}, status, "Seccomp:0\n"},
		{"privileged", []string{"--privileged"}, status, "Seccomp:0\n"},
		{"privileged ignores a profile", []string{"--privileged", "--security-opt", "seccomp=" + noMkdir}, status, "Seccomp:0\n"},
		{"builtin is the default", []string{"--security-opt", "seccomp=builtin"}, status, "Seccomp:2\n"},
		{"default denies a user namespace", nil, userns, denied},
		{"unconfined allows it", []string{"--security-opt", "seccomp=unconfined"}, userns, "userns-ok\n"},
		{"CAP_SYS_ADMIN allows it", []string{"--cap-add", "SYS_ADMIN"}, userns, "userns-ok\n"},
		{"no-new-privileges keeps the filter", []string{"--security-opt", "no-new-privileges"}, userns, denied},
		{"profile denies mkdir", []string{"--security-opt", "seccomp=" + noMkdir},
			[]string{"sh", "-c", "mkdir /tmp/x 2>&1; ls -d /tmp/x 2>/dev/null; touch /tmp/f && echo touched"},
			"mkdir: can't create directory '/tmp/x': Operation not permitted\ntouched\n"},
		{"ordinary commands", nil, []string{"sh", "-c", "mkdir /tmp/d && cd /tmp/d && echo x > f && cat f && ls && id -u"},
			"x\nf\n0\n"},
		{"non-root user", []string{"-u", "1000:1000"}, []string{"sh", "-c", "id -u; grep -c '^Seccomp:.2' /proc/self/status"},
			"1000\n1\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"run", "--rm"}, tc.args...), "busybox")
			r := lade(t, root, "", append(args, tc.cmd...)...)
			if r.code != 0 || r.stdout != tc.want {
				t.Errorf("exit %d, stdout %q; want 0, %q (stderr %q)", r.code, r.stdout, tc.want, r.stderr)
			}
		})
	}

	// Bad profiles fail before a container exists.
	for name, tc := range map[string]struct{ opt, msg string }{
		"missing file":   {"seccomp=" + filepath.Join(dir, "nope.json"), "no such file"},
		"malformed JSON": {"seccomp=" + profile("bad.json", `{"defaultAction": `), "seccomp profile: unexpected EOF"},
		"unknown action": {"seccomp=" + profile("act.json", `{"defaultAction": "SCMP_ACT_SOMETIMES"}`), `unknown action "SCMP_ACT_SOMETIMES"`},
		"unknown op": {"seccomp=" + profile("op.json", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
			{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_SIMILAR"}]}]}`),
			`unknown comparison "SCMP_CMP_SIMILAR"`},
		"empty": {"seccomp=", "name a profile file or unconfined"},
	} {
		t.Run(name, func(t *testing.T) {
			r := lade(t, root, "", "run", "--rm", "--security-opt", tc.opt, "busybox", "true")
			if r.code != 125 || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want 125 and %q", r.code, r.stderr, tc.msg)
			}
		})
	}
	// Unknown syscall names are skipped, as docker does.
	other := profile("other-arch.json", `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
		{"names": ["arm_fadvise64_64", "mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}`)
	if r := lade(t, root, "", "run", "--rm", "--security-opt", "seccomp="+other, "busybox", "sh", "-c", "mkdir /x 2>/dev/null || echo denied"); r.code != 0 || r.stdout != "denied\n" {
		t.Errorf("profile with another arch's syscall: %+v", r)
	}
	if r := lade(t, root, "", "ps", "-a", "-q"); r.stdout != "" {
		t.Errorf("containers left: %q", r.stdout)
	}
}

// lade exec gets the container's filter.
func TestExecSeccomp(t *testing.T) {
	root := newRoot(t)
	status := []string{"sh", "-c", "grep '^Seccomp:' /proc/self/status | tr -d '\\t'; unshare -U true 2>/dev/null && echo userns-ok || echo userns-denied"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"default", nil, "Seccomp:2\nuserns-denied\n"},
		{"unconfined", []string{"--security-opt", "seccomp=unconfined"}, "Seccomp:0\nuserns-ok\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := runDetached(t, root, append(tc.args, "busybox", "sleep", "300")...)
			r := lade(t, root, "", append([]string{"exec", id}, status...)...)
			if r.code != 0 || r.stdout != tc.want {
				t.Errorf("exec: exit %d, stdout %q; want %q (stderr %q)", r.code, r.stdout, tc.want, r.stderr)
			}
		})
	}
}
