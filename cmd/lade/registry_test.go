package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// credentialHelper writes docker-credential-test, a credential helper
// keeping one file per server in store, into a directory put first on
// PATH.
func credentialHelper(t *testing.T, store string) {
	t.Helper()
	bin := t.TempDir()
	script := `#!/bin/sh
key() { printf %s "$1" | tr -c 'a-zA-Z0-9' _; }
case "$1" in
store) in=$(cat); url=$(printf %s "$in" | sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p'); printf %s "$in" > "` + store + `/$(key "$url")" ;;
get) f="` + store + `/$(key "$(cat)")"; if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) rm "` + store + `/$(key "$(cat)")" ;;
list) echo '{}' ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-test"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// basicAuth wraps a registry so that it answers only user "me" with
// password "s3cret".
func basicAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "me" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// TestLoginCredentialHelper: with a credsStore or credHelpers entry in
// config.json, login writes through docker-credential-test, config.json
// keeps no secret, pushes and pulls read the credentials back, and logout
// erases them through the helper.
func TestLoginCredentialHelper(t *testing.T) {
	host := testutil.Registry(t, basicAuth)
	tests := []struct{ name, config string }{
		{"credsStore", `{"credsStore":"test"}`},
		{"credHelpers", `{"credHelpers":{"` + host + `":"test"},"auths":{"` + host + `":{"auth":"bWU6b2xk"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := t.TempDir()
			credentialHelper(t, store)
			cfgDir := t.TempDir()
			t.Setenv("DOCKER_CONFIG", cfgDir)
			cfgPath := filepath.Join(cfgDir, "config.json")
			if err := os.WriteFile(cfgPath, []byte(tt.config), 0o600); err != nil {
				t.Fatal(err)
			}
			root := newRoot(t)
			ref := host + "/helper/busybox:1"
			lade(t, root, "", "tag", "busybox", ref)
			if r := lade(t, root, "", "push", "-q", ref); r.code == 0 {
				t.Fatal("push without credentials succeeded")
			}

			r := lade(t, root, "s3cret\n", "login", "-u", "me", "--password-stdin", host)
			if r.code != 0 || r.stdout != "Login Succeeded\n" || strings.Contains(r.stderr, "unencrypted") {
				t.Fatalf("login: %+v", r)
			}
			kept, _ := os.ReadFile(filepath.Join(store, strings.NewReplacer(".", "_", ":", "_").Replace(host)))
			if !strings.Contains(string(kept), `"Secret":"s3cret"`) {
				t.Errorf("the helper stored %q", kept)
			}
			if b, _ := os.ReadFile(cfgPath); strings.Contains(string(b), `"auth"`) {
				t.Errorf("config.json holds a secret:\n%s", b)
			}

			if r := lade(t, root, "", "push", "-q", ref); r.code != 0 {
				t.Fatalf("push through the helper's credentials: %s", r.stderr)
			}
			if r := lade(t, t.TempDir(), "", "pull", "-q", ref); r.code != 0 {
				t.Fatalf("pull through the helper's credentials: %s", r.stderr)
			}

			if r := lade(t, root, "", "logout", host); r.code != 0 || r.stdout != "Removing login credentials for "+host+"\n" {
				t.Errorf("logout: %+v", r)
			}
			if left, _ := os.ReadDir(store); len(left) != 0 {
				t.Errorf("logout left %d entries in the helper's store", len(left))
			}
			if r := lade(t, t.TempDir(), "", "pull", "-q", ref); r.code == 0 {
				t.Error("pull succeeded after logout")
			}
		})
	}
}

// TestPushPullAllTags: push and pull -a move every tag of a repository,
// refuse a tag, and -q prints only the full name, as docker's do.
func TestPushPullAllTags(t *testing.T) {
	root := newRoot(t)
	host := testutil.Registry(t, nil)
	repo := host + "/all/bb"
	for _, tag := range []string{"1", "2", "3"} {
		if r := lade(t, root, "", "tag", "busybox", repo+":"+tag); r.code != 0 {
			t.Fatal(r.stderr)
		}
	}
	fresh := t.TempDir()
	tests := []struct {
		root       string
		args       []string
		wantStdout string // exact, or with a trailing "*" a prefix
		wantErr    string
		wantLines  int // stdout lines when wantStdout is empty
	}{
		{root: root, args: []string{"push", "-a", repo + ":1"}, wantErr: "tag can't be used with --all-tags/-a"},
		{root: root, args: []string{"push", "-a", host + "/none/bb"}, wantErr: "does not exist locally"},
		{root: root, args: []string{"push", "-q", repo + ":1"}, wantStdout: repo + ":1\n"},
		{root: root, args: []string{"push", "-a", repo}, wantStdout: "1: digest: sha256:*", wantLines: 3},
		{root: root, args: []string{"push", "-a", "-q", repo}, wantStdout: repo + "\n"},
		{root: fresh, args: []string{"pull", "-a", repo + ":2"}, wantErr: "tag can't be used with --all-tags/-a"},
		{root: fresh, args: []string{"pull", "-a", "-q", repo}, wantStdout: repo + "\n"},
		{root: fresh, args: []string{"pull", "-a", repo}, wantStdout: "Digest: sha256:*", wantLines: 7},
		{root: fresh, args: []string{"images", "-q", "--filter", "reference=" + repo}, wantLines: 1},
		{root: fresh, args: []string{"images", "--filter", "reference=" + repo}, wantLines: 4},
	}
	for _, tt := range tests {
		r := lade(t, tt.root, "", tt.args...)
		if tt.wantErr != "" {
			if r.code == 0 || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("%v: %+v, want error %q", tt.args, r, tt.wantErr)
			}
			continue
		}
		prefix, isPrefix := strings.CutSuffix(tt.wantStdout, "*")
		ok := r.code == 0 && (tt.wantStdout == "" || r.stdout == tt.wantStdout || isPrefix && strings.HasPrefix(r.stdout, prefix))
		if tt.wantLines > 0 && strings.Count(r.stdout, "\n") != tt.wantLines {
			ok = false
		}
		if !ok {
			t.Errorf("%v: %+v, want stdout %q (%d lines)", tt.args, r, tt.wantStdout, tt.wantLines)
		}
	}
}

// TestImageCommandsAsDocker: import -c/-m, load -q, rmi --no-prune and
// tag's edge cases answer as docker's.
func TestImageCommandsAsDocker(t *testing.T) {
	root := newRoot(t)
	tarball := filepath.Join(writeTree(t, map[string]string{"f": "x"}), "f")
	saved := filepath.Join(t.TempDir(), "bb.tar")
	tests := []struct {
		args       []string
		wantStdout string // substring
		wantErr    string
	}{
		{args: []string{"import", "-c", "ENV A=1", "-c", `CMD ["/bin/sh"]`, "-c", "EXPOSE 80", "-m", "my message", tarball, "imp:1"}, wantStdout: "sha256:"},
		{args: []string{"inspect", "imp:1"}, wantStdout: `"A=1"`},
		{args: []string{"inspect", "imp:1"}, wantStdout: `"80/tcp"`},
		{args: []string{"history", "imp:1"}, wantStdout: "my message"},
		{args: []string{"import", "-c", "RUN true", tarball, "imp:2"}, wantErr: "RUN is not a valid change command"},
		{args: []string{"save", "-o", saved, "busybox"}},
		{args: []string{"load", "-q", "-i", saved}, wantStdout: "Loaded image: busybox:latest\n"},
		{args: []string{"tag", "busybox", "x@sha256:" + strings.Repeat("0", 64)}, wantErr: "refusing to create a tag with a digest reference"},
		{args: []string{"tag", "nope:1", "x"}, wantErr: "No such image: nope:1"},
		{args: []string{"tag", "busybox", "Up"}, wantErr: "must be lowercase"},
		{args: []string{"tag", "busybox", "x"}},
		{args: []string{"tag", "x", "x"}},
		{args: []string{"rmi", "--no-prune", "x"}, wantStdout: "Untagged: x:latest\n"},
	}
	for _, tt := range tests {
		r := lade(t, root, "", tt.args...)
		if tt.wantErr != "" {
			if r.code == 0 || !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("%v: %+v, want error %q", tt.args, r, tt.wantErr)
			}
		} else if r.code != 0 || !strings.Contains(r.stdout, tt.wantStdout) {
			t.Errorf("%v: %+v, want stdout with %q", tt.args, r, tt.wantStdout)
		}
	}
}

// TestInsecureRegistryTLS: a self-signed TLS registry on a host address
// is refused, and works for login, push and pull once named by
// --insecure-registry (host:port, or the host for every port), as docker.
func TestInsecureRegistryTLS(t *testing.T) {
	host := testutil.TLSRegistry(t, basicAuth)
	bare, _, _ := strings.Cut(host, ":")
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	root := newRoot(t)
	ref := host + "/tls/bb:1"
	if r := lade(t, root, "", "tag", "busybox", ref); r.code != 0 {
		t.Fatal(r.stderr)
	}
	tests := []struct {
		root, stdin string
		args        []string
		wantErr     string
	}{
		{root: root, args: []string{"push", "-q", ref}, wantErr: "certificate"},
		{root: root, stdin: "s3cret", args: []string{"login", "-u", "me", "--password-stdin", host}, wantErr: "certificate"},
		{root: root, stdin: "s3cret", args: []string{"--insecure-registry", host, "login", "-u", "me", "--password-stdin", host}},
		{root: root, args: []string{"--insecure-registry", host, "push", "-q", ref}},
		{root: t.TempDir(), args: []string{"--insecure-registry", bare, "pull", "-q", ref}},
	}
	for _, tt := range tests {
		r := lade(t, tt.root, tt.stdin, tt.args...)
		if tt.wantErr == "" && r.code != 0 || tt.wantErr != "" && (r.code == 0 || !strings.Contains(r.stderr, tt.wantErr)) {
			t.Errorf("%v: %+v, want error %q", tt.args, r, tt.wantErr)
		}
	}
}
