package hardening

import (
	"net/http"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// pathLog is a loopback registry that records every request path.
type pathLog struct {
	mu    sync.Mutex
	paths []string
}

func (p *pathLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.paths = append(p.paths, r.URL.EscapedPath())
		p.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// outside returns the recorded paths that leave /v2/ or carry dot
// segments, and forgets everything recorded.
func (p *pathLog) outside() (bad []string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.paths {
		if !strings.HasPrefix(path.Clean(s)+"/", "/v2/") || strings.Contains(s, "/./") || strings.Contains(s, "/../") || strings.HasSuffix(s, "/..") {
			bad = append(bad, s)
		}
	}
	n = len(p.paths)
	p.paths = nil
	return bad, n
}

// TestDotReferences: names with "." or ".." components are refused by
// docker's grammar before anything reaches a registry or the store.
func TestDotReferences(t *testing.T) {
	needLade(t)
	seen := &pathLog{}
	host := loopRegistry(t, seen.wrap)
	root := newRoot(t)
	// Control: a good name is pulled, so the log does see lade's requests.
	wantOK(t, lade(t, root, nil, "pull", "-q", host+"/lib/busybox:latest"))
	if bad, n := seen.outside(); n == 0 || len(bad) > 0 {
		t.Fatalf("control pull: %d requests, outside /v2/: %q", n, bad)
	}

	hostile := []string{
		host + "/../../x",
		host + "/../../x:1.0",
		host + "/lib/../../../x",
		host + "/./lib/busybox",
		host + "/lib/busybox/..",
		host + "/lib/..%2fx",
	}
	ctx := writeTree(t, map[string]string{"f": "x"})
	for _, r := range hostile {
		cases := map[string][]string{
			"pull": {"pull", r},
			"tag":  {"tag", "busybox", r},
			"push": {"push", r},
			"run":  {"run", "--rm", r, "true"},
			"from": {"build", "-q", "-f", writeTemp(t, "Dockerfile", []byte("FROM "+r+"\n")), ctx},
			"-t":   {"build", "-q", "-t", r, "-f", writeTemp(t, "Dockerfile", []byte("FROM busybox\n")), ctx},
		}
		for what, args := range cases {
			res := lade(t, root, nil, args...)
			lines := testutil.ErrorLines(res.stderr)
			if res.code == 0 || len(lines) != 1 || !strings.Contains(lines[0], "invalid reference format") {
				t.Errorf("%s %s: exit %d, want a one-line invalid reference error; stderr:\n%s", what, r, res.code, res.stderr)
			}
			if bad, _ := seen.outside(); len(bad) > 0 {
				t.Errorf("%s %s: registry saw requests outside /v2/: %q", what, r, bad)
			}
		}
	}
	// Nothing was stored under such a name.
	out := lade(t, root, nil, "images")
	wantOK(t, out)
	if strings.Contains(out.stdout, "..") || strings.Contains(out.stdout, "/./") {
		t.Errorf("a dotted name reached the store:\n%s", out.stdout)
	}
}
