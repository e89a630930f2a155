package images

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lade-build/lade/internal/testutil"
)

// tamperManifests rewrites manifest GET bodies with edit, keeping the
// registry's headers (and so its Docker-Content-Digest).
func tamperManifests(edit func([]byte) []byte) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/manifests/") {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := edit(rec.Body.Bytes())
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			w.Write(body)
		})
	}
}

// TestPullRejectsTamperedManifest: a manifest whose bytes do not match
// the digest asked for (or the digest the registry announces) is refused
// and nothing is stored.
func TestPullRejectsTamperedManifest(t *testing.T) {
	ctx := context.Background()
	img := randomImage(t, 1, time.Unix(5, 0))
	// Still valid JSON, but other bytes: a different digest.
	host := testutil.Registry(t, tamperManifests(func(b []byte) []byte { return append(b, ' ') }))
	push(t, host+"/m/app:1", img)
	for _, ref := range []string{host + "/m/app:1", host + "/m/app@" + testutil.ImageDigest(t, img).String()} {
		s, content := newStore(t)
		_, err := s.Pull(ctx, ref, PullOptions{})
		if err == nil {
			t.Fatalf("pull of %s with a tampered manifest succeeded", ref)
		}
		t.Logf("%s: %v", ref, err)
		if !strings.Contains(err.Error(), "digest") {
			t.Errorf("error does not name the digest problem: %v", err)
		}
		if content.Has(testutil.ImageDigest(t, img)) {
			t.Error("manifest stored")
		}
		if list, _ := s.List(ctx); len(list) != 0 {
			t.Errorf("store lists %d images", len(list))
		}
	}
	// --cache-from reads manifests through RemoteImage: checked the same way.
	if _, err := quickStore(t).RemoteImage(ctx, host+"/m/app:1", nil); err == nil || !strings.Contains(err.Error(), "digest") {
		t.Errorf("RemoteImage of a tampered manifest: %v", err)
	}
}

// putManifest stores raw under ref's tag as is.
func putManifest(t *testing.T, host, repo, tag string, raw []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, "http://"+host+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(raw))
	req.Header.Set("Content-Type", string(types.DockerManifestSchema2))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT manifest: %s", resp.Status)
	}
}

// TestPullBoundsMetadata: an oversized manifest is refused, and so is a
// manifest announcing an oversized config, before the config is fetched.
func TestPullBoundsMetadata(t *testing.T) {
	ctx := context.Background()
	img := randomImage(t, 1, time.Unix(6, 0))
	cfgName, _ := img.ConfigName()
	var configGets atomic.Int32
	host := testutil.Registry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/blobs/"+cfgName.String()) {
				configGets.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	push(t, host+"/m/app:base", img)
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}

	huge := m.DeepCopy()
	huge.Annotations = map[string]string{"pad": strings.Repeat("x", maxMetadata)}
	raw, _ := json.Marshal(huge)
	putManifest(t, host, "m/app", "huge", raw)

	bigCfg := m.DeepCopy()
	bigCfg.Config.Size = maxMetadata + 1
	raw, _ = json.Marshal(bigCfg)
	putManifest(t, host, "m/app", "bigconfig", raw)

	configGets.Store(0)
	for _, tag := range []string{"huge", "bigconfig"} {
		_, err := quickStore(t).Pull(ctx, host+"/m/app:"+tag, PullOptions{})
		t.Logf("%s: %.200v", tag, err)
		if err == nil || !strings.Contains(err.Error(), "larger than") && !strings.Contains(err.Error(), "too large") {
			t.Errorf("pull of %s: %.300v", tag, err)
		}
	}
	if n := configGets.Load(); n != 0 {
		t.Errorf("the config was requested %d times", n)
	}
}

// TestPushUploadsInParallel: blob uploads overlap. Each PATCH waits until
// a second one is in flight (with a generous bound so a serial push fails
// rather than hangs).
func TestPushUploadsInParallel(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	inFlight, most := 0, 0
	two := make(chan struct{})
	var once sync.Once
	host := testutil.Registry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPatch {
				h.ServeHTTP(w, r)
				return
			}
			mu.Lock()
			inFlight++
			most = max(most, inFlight)
			if inFlight >= 2 {
				once.Do(func() { close(two) })
			}
			mu.Unlock()
			select {
			case <-two:
			case <-time.After(20 * time.Second):
			}
			h.ServeHTTP(w, r)
			mu.Lock()
			inFlight--
			mu.Unlock()
		})
	})
	s := quickStore(t)
	img := storedRandom(t, s, 4)
	var prog bytes.Buffer
	mustPush(t, ctx, s, host+"/par/app:1", img, PushOptions{Progress: &prog})
	mu.Lock()
	defer mu.Unlock()
	if most < 2 {
		t.Errorf("at most %d blob uploads in flight, want parallel uploads", most)
	}
	if n := strings.Count(prog.String(), "pushed sha256:"); n != 5 {
		t.Errorf("progress:\n%s", prog.String())
	}
}
