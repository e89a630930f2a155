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
