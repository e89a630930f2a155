package images

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/internal/testutil"
)

// perRepo gives pkg/registry (which keeps one blob pool for all
// repositories) distribution's per-repository view: a blob is visible in
// a repository only once uploaded or mounted there, and POST ?mount=&from=
// links it when the source repository has it, else starts a plain upload.
type perRepo struct {
	mu     sync.Mutex
	linked map[string]map[string]bool // repository -> digests
	mounts int                        // mounts granted
}

func (p *perRepo) has(repo, d string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.linked[repo][d]
}

func (p *perRepo) link(repo, d string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.linked == nil {
		p.linked = map[string]map[string]bool{}
	}
	if p.linked[repo] == nil {
		p.linked[repo] = map[string]bool{}
	}
	p.linked[repo][d] = true
}

// forget drops every blob of repo, as if it had been deleted.
func (p *perRepo) forget(repo string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.linked, repo)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (p *perRepo) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repo, rest, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/blobs/")
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		switch {
		case strings.HasPrefix(rest, "sha256:"): // HEAD or GET of a blob
			if !p.has(repo, rest) {
				http.Error(w, `{"errors":[{"code":"BLOB_UNKNOWN"}]}`, http.StatusNotFound)
				return
			}
		case r.Method == http.MethodPost && q.Get("mount") != "":
			d := q.Get("mount")
			if p.has(q.Get("from"), d) {
				p.link(repo, d)
				p.mu.Lock()
				p.mounts++
				p.mu.Unlock()
				w.Header().Set("Location", "/v2/"+repo+"/blobs/"+d)
				w.Header().Set("Docker-Content-Digest", d)
				w.WriteHeader(http.StatusCreated)
				return
			}
			r.URL.RawQuery = "" // not mountable: a plain upload, 202
		}
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		if d := q.Get("digest"); d != "" && rec.code == http.StatusCreated {
			p.link(repo, d)
		}
	})
}

// reopen opens the store at s's root again, as a new process would.
func reopen(t *testing.T, s *Store) *Store {
	t.Helper()
	c, err := cache.Open(filepath.Join(filepath.Dir(s.root), "content"))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Open(s.root, c)
	if err != nil {
		t.Fatal(err)
	}
	s2.backoff = s.backoff
	return s2
}

func TestPushMountsAcrossRepositories(t *testing.T) {
	ctx := context.Background()
	host, u, pr := mountRegistry(t)
	s := quickStore(t)
	img := storedRandom(t, s, 3)
	mustPush(t, ctx, s, host+"/a/app:1", img, PushOptions{})
	if bodies, kinds := u.reset(); bodies < 4 || kinds["MOUNT"] != 0 {
		t.Fatalf("first push: %d bodies, requests %v", bodies, kinds)
	}

	// A new Store on the same root (a later lade process) knows that a/app
	// holds the blobs: b/app gets all four mounted, no bytes sent.
	s2 := reopen(t, s)
	img2, err := s2.Get(ctx, "src:latest")
	if err != nil {
		t.Fatal(err)
	}
	var prog bytes.Buffer
	mustPush(t, ctx, s2, host+"/b/app:1", img2, PushOptions{Progress: &prog})
	bodies, kinds := u.reset()
	if bodies != 0 || kinds["MOUNT"] != 4 || pr.mounts != 4 {
		t.Errorf("second push: %d bodies, requests %v, %d mounts granted", bodies, kinds, pr.mounts)
	}
	if n := strings.Count(prog.String(), "mounted sha256:"); n != 4 {
		t.Errorf("progress has %d mounted lines, want 4:\n%s", n, prog.String())
	}
	validateRemote(t, host+"/b/app:1")

	// The record names both repositories, newest first.
	var rec map[string][]string
	b, err := os.ReadFile(filepath.Join(s.root, "sources.json"))
	if err != nil || json.Unmarshal(b, &rec) != nil {
		t.Fatalf("sources.json: %v %s", err, b)
	}
	cfg, _ := img.ConfigName()
	if got := strings.Join(rec[cfg.String()], " "); got != host+"/b/app "+host+"/a/app" {
		t.Errorf("sources of the config: %q", got)
	}
}

// TestPushMountFallsBack: the recorded source lost the blobs, so the
// registry answers the mount with 202 and lade uploads them.
func TestPushMountFallsBack(t *testing.T) {
	ctx := context.Background()
	host, u, pr := mountRegistry(t)
	s := quickStore(t)
	img := storedRandom(t, s, 2)
	mustPush(t, ctx, s, host+"/a/app:1", img, PushOptions{})
	u.reset()
	pr.forget("a/app")
	var prog bytes.Buffer
	mustPush(t, ctx, s, host+"/b/app:1", img, PushOptions{Progress: &prog})
	bodies, kinds := u.reset()
	if kinds["MOUNT"] != 3 || bodies < 3 || pr.mounts != 0 {
		t.Errorf("push after the source lost its blobs: %d bodies, requests %v", bodies, kinds)
	}
	if n := strings.Count(prog.String(), "pushed sha256:"); n != 3 {
		t.Errorf("progress:\n%s", prog.String())
	}
	validateRemote(t, host+"/b/app:1")
}

// TestPushMountsPulledBlobs: blobs lade pulled are mounted when pushed to
// another repository of that registry, but not offered to another registry.
func TestPushMountsPulledBlobs(t *testing.T) {
	ctx := context.Background()
	host, u, _ := mountRegistry(t)
	other, u2, _ := mountRegistry(t)
	push(t, host+"/base/img:1", randomImage(t, 2, time.Unix(7, 0)))
	s := quickStore(t)
	img, err := s.Pull(ctx, host+"/base/img:1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u.reset()
	mustPush(t, ctx, s, host+"/derived/img:1", img, PushOptions{})
	if bodies, kinds := u.reset(); bodies != 0 || kinds["MOUNT"] != 3 {
		t.Errorf("push of pulled blobs: %d bodies, requests %v", bodies, kinds)
	}
	validateRemote(t, host+"/derived/img:1")

	mustPush(t, ctx, s, other+"/derived/img:1", img, PushOptions{})
	if bodies, kinds := u2.reset(); bodies < 3 || kinds["MOUNT"] != 0 {
		t.Errorf("push to another registry: %d bodies, requests %v", bodies, kinds)
	}
}

// TestPushMountsRemoteLayers pushes an image whose layers come from
// remote.Image on the same registry: go-containerregistry mounts them.
func TestPushMountsRemoteLayers(t *testing.T) {
	ctx := context.Background()
	host, u, _ := mountRegistry(t)
	push(t, host+"/base/img:1", randomImage(t, 2, time.Unix(1, 0)))
	remoteImg := testutil.RemoteImage(t, host+"/base/img:1")
	u.reset()
	var prog bytes.Buffer
	mustPush(t, ctx, quickStore(t), host+"/derived/img:1", remoteImg, PushOptions{Progress: &prog})
	// remote.Image offers its config and both layers for mounting.
	bodies, kinds := u.reset()
	if bodies != 0 || kinds["MOUNT"] != 3 || strings.Count(prog.String(), "mounted sha256:") != 3 {
		t.Errorf("cross-repository push: %d bodies, requests %v; progress:\n%s", bodies, kinds, prog.String())
	}
	validateRemote(t, host+"/derived/img:1")
}

func TestRecordSources(t *testing.T) {
	s, content := newStore(t)
	ctx := context.Background()
	kept, err := content.PutBytes(ctx, []byte("a blob"))
	if err != nil {
		t.Fatal(err)
	}
	gone := digestOf([]byte("not in content"))
	// An unreadable record is ignored and replaced.
	if err := os.WriteFile(s.sourcesPath(), []byte("{garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		repo, _ := name.NewRepository("reg.example/r" + string(rune('0'+i)))
		if err := s.recordSources(repo, []v1.Hash{kept, gone}); err != nil {
			t.Fatal(err)
		}
	}
	m := s.readSources()
	if got := strings.Join(m[kept.String()], " "); got != "reg.example/r5 reg.example/r4 reg.example/r3 reg.example/r2" {
		t.Errorf("sources %q, want the newest %d", got, maxSourcesPerBlob)
	}
	if _, ok := m[gone.String()]; ok {
		t.Error("a blob missing from content kept its record")
	}
	target, _ := name.NewRepository("reg.example/r5")
	if from := s.mountSources(target, []v1.Hash{kept}); from[kept].Name() != "reg.example/r4" {
		t.Errorf("mount source for r5: %v", from)
	}
	elsewhere, _ := name.NewRepository("other.example/r5")
	if from := s.mountSources(elsewhere, []v1.Hash{kept}); len(from) != 0 {
		t.Errorf("mount source on another registry: %v", from)
	}
}

// TestPushMountAsksForSourceScope: behind token auth, a mount works only
// if the token grants pull on the source repository, as with
// distribution; lade's push asks for that scope.
func TestPushMountAsksForSourceScope(t *testing.T) {
	ctx := context.Background()
	var u uploads
	pr := &perRepo{}
	var host string
	hasScope := func(r *http.Request, scope string) bool {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return false
		}
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return false
		}
		for _, s := range strings.Split(string(b), " ") {
			if s == scope {
				return true
			}
		}
		return false
	}
	auth := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				tok := base64.RawURLEncoding.EncodeToString([]byte(strings.Join(r.URL.Query()["scope"], " ")))
				json.NewEncoder(w).Encode(map[string]string{"token": tok})
				return
			}
			if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
				w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+host+`/token",service="test"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			if q := r.URL.Query(); q.Get("mount") != "" && !hasScope(r, "repository:"+q.Get("from")+":pull") {
				r.URL.RawQuery = "" // no access to the source: a plain upload
			}
			h.ServeHTTP(w, r)
		})
	}
	host = testutil.Registry(t, func(h http.Handler) http.Handler { return auth(u.wrap(pr.wrap(h))) })
	s := quickStore(t)
	img := storedRandom(t, s, 2)
	mustPush(t, ctx, s, host+"/a/app:1", img, PushOptions{})
	u.reset()
	mustPush(t, ctx, s, host+"/b/app:1", img, PushOptions{})
	if bodies, kinds := u.reset(); bodies != 0 || pr.mounts != 3 {
		t.Errorf("push behind token auth: %d bodies, requests %v, %d mounts granted", bodies, kinds, pr.mounts)
	}
}
