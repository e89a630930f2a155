package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/internal/testutil"
)

// refuse answers requests for repositories under prefix with status and
// a registry error code, as a registry that wants credentials or denies
// access does; everything else reaches the registry.
func refuse(prefix string, status int, code string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.URL.Path, "/v2/"+prefix+"/") {
				h.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"errors":[{"code":%q,"message":"refused by test","detail":{"Tag":"1.0"}}]}`, code)
		})
	}
}

func TestCLIErrors(t *testing.T) {
	root := newRoot(t)
	host := testutil.Registry(t, func(h http.Handler) http.Handler {
		return refuse("private", http.StatusUnauthorized, "UNAUTHORIZED")(refuse("ro", http.StatusForbidden, "DENIED")(h))
	})
	missing := host + "/x:1.0"
	from := writeTree(t, map[string]string{"Dockerfile": "FROM " + missing + "\n"})
	tests := []struct {
		name string
		args []string
		code int
		want string // the one error line
	}{
		{"pull not found", []string{"pull", missing}, 1, "Error: " + missing + ": not found"},
		{"FROM not found", []string{"build", from}, 1, "Error: Dockerfile:1: " + missing + ": not found"},
		{"run not found", []string{"run", "--rm", missing, "true"}, 125, "Error: " + missing + ": not found"},
		{"pull unauthorized", []string{"pull", host + "/private/x:1.0"}, 1, "Error: " + host + "/private/x:1.0: unauthorized: authentication required"},
		{"push denied", []string{"push", host + "/ro/busybox:1"}, 1, "Error: " + host + "/ro/busybox:1: denied: requested access to the resource is denied"},
		{"publish with a port for an IP", []string{"run", "--rm", "-p", "127.0.0.1:18080:80:90", "busybox", "true"}, 125,
			`Error: --publish: invalid IP address "127.0.0.1:18080" in "127.0.0.1:18080:80:90" (want ` + container.PortForms + ")"},
		{"unknown flag", []string{"run", "--nope", "busybox"}, 125, "Error: unknown flag: --nope (see 'lade run --help')"},
		{"bad flag value", []string{"run", "--cpus", "many", "busybox"}, 125,
			`Error: invalid argument "many" for "--cpus" flag: strconv.ParseFloat: parsing "many": invalid syntax (see 'lade run --help')`},
		{"flag of another command", []string{"images", "--rm"}, 125, "Error: unknown flag: --rm (see 'lade images --help')"},
		{"invalid reference", []string{"pull", host + "/../x"}, 1, `Error: "` + host + `/../x": invalid reference format`},
		{"invalid tag", []string{"build", "-t", "a/../b", from}, 125, `Error: --tag: "a/../b": invalid reference format`},
		{"digest as a tag", []string{"tag", "busybox", "x@sha256:" + strings.Repeat("0", 64)}, 1,
			"Error: refusing to create a tag with a digest reference"},
	}
	if r := lade(t, root, "", "tag", "busybox", host+"/ro/busybox:1"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := lade(t, root, "", tt.args...)
			lines := testutil.ErrorLines(r.stderr)
			if r.code != tt.code || len(lines) != 1 || lines[0] != tt.want {
				t.Errorf("lade %v: exit %d, error lines %q\nwant exit %d and %q\nstderr:\n%s", tt.args, r.code, lines, tt.code, tt.want, r.stderr)
			}
		})
	}
}

// TestBuildCanceled: a build cancelled in the middle of a step says so
// once, not as a chain of "context canceled" wraps.
func TestBuildCanceled(t *testing.T) {
	root := newRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The step tells the test it runs (RUN shares the host's network).
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { cancel() }))
	defer srv.Close()
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN wget -q -O- " + srv.URL + "/started; sleep 60\n"})
	var out, errb strings.Builder
	done := make(chan int, 1)
	go func() { done <- Run(ctx, []string{"--root", root, "build", dir}, strings.NewReader(""), &out, &errb) }()
	var code int
	select {
	case code = <-done:
	case <-time.After(45 * time.Second):
		t.Fatal("build did not stop within 45s of being canceled")
	}
	if ctx.Err() == nil {
		t.Fatalf("the step never ran; stderr:\n%s", errb.String())
	}
	lines := testutil.ErrorLines(errb.String())
	if code == 0 || len(lines) != 1 || lines[0] != "Error: build canceled" {
		t.Errorf("exit %d, error lines %q; want one \"Error: build canceled\"\nstderr:\n%s", code, lines, errb.String())
	}
}

// TestRunKeepsPulledImage: an image run had to pull is listed under its
// name and rmi removes it, as with docker.
func TestRunKeepsPulledImage(t *testing.T) {
	root := newRoot(t)
	host := testutil.Registry(t, nil)
	ref := host + "/lib/bb:1.0"
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, testutil.BusyboxImage(t)); err != nil {
		t.Fatal(err)
	}
	if r := lade(t, root, "", "run", "--rm", ref, "true"); r.code != 0 {
		t.Fatalf("run: %d %s", r.code, r.stderr)
	}
	r := lade(t, root, "", "images")
	if !strings.Contains(r.stdout, host+"/lib/bb ") || !strings.Contains(r.stdout, " 1.0 ") {
		t.Fatalf("images does not list %s:\n%s", ref, r.stdout)
	}
	if r := lade(t, root, "", "rmi", ref); r.code != 0 || !strings.Contains(r.stdout, "Untagged: "+ref) {
		t.Fatalf("rmi %s: %d %s %s", ref, r.code, r.stdout, r.stderr)
	}
	if r := lade(t, root, "", "images"); strings.Contains(r.stdout, host) {
		t.Fatalf("still listed after rmi:\n%s", r.stdout)
	}
}
