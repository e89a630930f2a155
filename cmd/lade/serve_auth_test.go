package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// TestServeRegistryAuth: docker login through lade serve checks the
// credentials with the registry; docker push and pull then send them
// (X-Registry-Auth), and lade uses them instead of its user's stored
// ones, which here are none. Without them both fail.
func TestServeRegistryAuth(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // lade's user has no credentials
	root := newRoot(t)
	host := testutil.Registry(t, basicAuth)
	sock := startServe(t, root)
	for i, cl := range serveClients {
		t.Run(cl.name, func(t *testing.T) {
			requireClient(t, cl.bin)
			home := t.TempDir()
			docker := func(stdin string, args ...string) (string, error) {
				out, errOut, err := dockerHome(cl.bin, sock, home, stdin, args...)
				return out + errOut, err
			}
			ref := fmt.Sprintf("%s/auth/busybox:%d", host, i)
			dockerCLI(t, cl.bin, sock, "tag", "busybox", ref)
			steps := []struct {
				stdin string
				args  []string
				ok    bool
				want  string // in the output
			}{
				{"", []string{"push", ref}, false, ""},
				{"wrong\n", []string{"login", "-u", "me", "--password-stdin", host}, false, ""},
				{"s3cret\n", []string{"login", "-u", "me", "--password-stdin", host}, true, "Login Succeeded"},
				{"", []string{"push", ref}, true, "digest: sha256:"},
				{"", []string{"rmi", ref}, true, "Untagged: " + ref},
				{"", []string{"pull", ref}, true, "Downloaded newer image for " + ref},
				{"", []string{"logout", host}, true, ""},
				{"", []string{"pull", ref}, false, ""},
			}
			for _, st := range steps {
				out, err := docker(st.stdin, st.args...)
				if (err == nil) != st.ok || !strings.Contains(out, st.want) {
					t.Fatalf("docker %s: %v, want success %v and %q:\n%s", strings.Join(st.args, " "), err, st.ok, st.want, out)
				}
			}
		})
	}
}

// TestServeAuthStatus: POST /auth answers refused credentials with 401
// and a registry it cannot reach with 500, as dockerd.
func TestServeAuthStatus(t *testing.T) {
	host := testutil.Registry(t, basicAuth)
	hc := socketClient(startServe(t, newRoot(t)))
	for _, tc := range []struct {
		server, pass string
		status       int
	}{
		{host, "s3cret", http.StatusOK},
		{host, "wrong", http.StatusUnauthorized},
		{"127.0.0.1:1", "s3cret", http.StatusInternalServerError},
	} {
		body := fmt.Sprintf(`{"username":"me","password":%q,"serveraddress":%q}`, tc.pass, tc.server)
		resp, err := hc.Post("http://lade/v1.41/auth", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("auth at %s with %q: %s, want %d", tc.server, tc.pass, resp.Status, tc.status)
		}
	}
}
