package main

import (
	"strings"
	"testing"
)

// groupsImage builds "groups": busybox whose /etc/group puts root and app
// in extra groups; RUN id's output, as the build printed it, comes back.
func groupsImage(t *testing.T, root string) string {
	t.Helper()
	ctx := writeTree(t, map[string]string{"Dockerfile": `FROM busybox
RUN echo extra:x:2000:app,root >> /etc/group && echo audio:x:63:app >> /etc/group && echo staff:x:50: >> /etc/group
USER app
RUN id
`})
	r := lade(t, root, "", "build", "--progress", "plain", "-t", "groups", ctx)
	if r.code != 0 {
		t.Fatalf("build failed (%d):\n%s", r.code, r.stderr)
	}
	return r.stderr
}

// Processes get the supplementary groups docker gives them: the primary
// group, the user's groups from the image's /etc/group and --group-add.
func TestSupplementaryGroups(t *testing.T) {
	root := newRoot(t)
	build := groupsImage(t, root)
	if want := "uid=1000(app) gid=1000(app) groups=63(audio),1000(app),2000(extra)"; !strings.Contains(build, want) {
		t.Errorf("RUN id: want %q in\n%s", want, build)
	}
	tests := []struct {
		name string
		args []string
		want string // id's output; "" when run must fail
		err  string
	}{
		{"root", []string{"-u", "root", "groups", "id"}, "uid=0(root) gid=0(root) groups=0(root),2000(extra)", ""},
		{"busybox root", []string{"busybox", "id"}, "uid=0(root) gid=0(root) groups=0(root)", ""},
		{"user", []string{"-u", "app", "groups", "id"}, "uid=1000(app) gid=1000(app) groups=63(audio),1000(app),2000(extra)", ""},
		{"user:group", []string{"-u", "app:staff", "groups", "id"}, "uid=1000(app) gid=50(staff) groups=50(staff)", ""},
		{"group-add", []string{"-u", "app", "--group-add", "1234", "--group-add", "staff", "groups", "id"},
			"uid=1000(app) gid=1000(app) groups=50(staff),63(audio),1000(app),1234,2000(extra)", ""},
		{"group-add unknown name", []string{"--group-add", "nosuch", "groups", "id"}, "", "unable to find group nosuch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := lade(t, root, "", append([]string{"run", "--rm"}, tc.args...)...)
			if tc.want == "" {
				if r.code != 125 || !strings.Contains(r.stderr, tc.err) {
					t.Fatalf("exit %d, stderr %q; want 125 and %q", r.code, r.stderr, tc.err)
				}
				return
			}
			if r.code != 0 || strings.TrimSpace(r.stdout) != tc.want {
				t.Fatalf("exit %d, id %q, want %q; stderr:\n%s", r.code, strings.TrimSpace(r.stdout), tc.want, r.stderr)
			}
		})
	}
}

// exec runs as the container's user with its groups, --group-add
// included, and -u takes names as run's does.
func TestExecSupplementaryGroups(t *testing.T) {
	root := newRoot(t)
	groupsImage(t, root)
	if r := lade(t, root, "", "run", "-d", "--name", "g", "--group-add", "1234", "groups", "sleep", "100"); r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	t.Cleanup(func() { lade(t, root, "", "rm", "-f", "g") })
	tests := []struct {
		user, want string
	}{
		{"", "uid=1000(app) gid=1000(app) groups=63(audio),1000(app),1234,2000(extra)"},
		{"root", "uid=0(root) gid=0(root) groups=0(root),1234,2000(extra)"},
		{"0:staff", "uid=0(root) gid=50(staff) groups=50(staff),1234"},
	}
	for _, tc := range tests {
		t.Run("-u "+tc.user, func(t *testing.T) {
			args := []string{"exec", "g", "id"}
			if tc.user != "" {
				args = []string{"exec", "-u", tc.user, "g", "id"}
			}
			r := lade(t, root, "", args...)
			if r.code != 0 || strings.TrimSpace(r.stdout) != tc.want {
				t.Fatalf("exit %d, id %q, want %q; stderr:\n%s", r.code, strings.TrimSpace(r.stdout), tc.want, r.stderr)
			}
		})
	}
}
