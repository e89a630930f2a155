package images

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/internal/testutil"
)

// uploads counts requests that carry blob bodies (PATCH, and PUT with a
// body) and everything else by method.
type uploads struct {
	mu     sync.Mutex
	bodies int
	byKind map[string]int
}

func (u *uploads) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := r.Method
		if strings.Contains(r.URL.Path, "/blobs/uploads/") && r.URL.Query().Get("mount") != "" {
			kind = "MOUNT"
		}
		u.mu.Lock()
		if u.byKind == nil {
			u.byKind = map[string]int{}
		}
		u.byKind[kind]++
		if strings.Contains(r.URL.Path, "/blobs/uploads/") && (r.Method == http.MethodPatch || r.Method == http.MethodPut && r.ContentLength > 0) {
			u.bodies++
		}
		u.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (u *uploads) reset() (int, map[string]int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	b, k := u.bodies, u.byKind
	u.bodies, u.byKind = 0, nil
	return b, k
}

func TestPushAndSkipExisting(t *testing.T) {
	ctx := context.Background()
	var u uploads
	host := testutil.Registry(t, u.wrap)
	s := quickStore(t)
	img := storedRandom(t, s, 3)

	var prog bytes.Buffer
	d, err := s.Push(ctx, host+"/team/app:v1", img, PushOptions{Progress: &prog})
	if err != nil {
		t.Fatal(err)
	}
	if d != testutil.ImageDigest(t, img) {
		t.Errorf("push returned %s, want %s", d, testutil.ImageDigest(t, img))
	}
	bodies, kinds := u.reset()
	if bodies < 4 {
		t.Errorf("first push sent %d blob bodies, want >= 4 (%v)", bodies, kinds)
	}
	if n := strings.Count(prog.String(), "pushed sha256:"); n != 4 {
		t.Errorf("progress has %d pushed lines, want 4:\n%s", n, prog.String())
	}

	// The registry serves exactly the manifest lade holds.
	wantImage(t, "registry", testutil.RemoteImage(t, host+"/team/app:v1"), d)

	// Same image to the same repository and to a sibling one: HEAD finds
	// every blob (or the registry mounts it), so no body is sent.
	for _, ref := range []string{host + "/team/app:v2", host + "/team/other:v1"} {
		prog.Reset()
		mustPush(t, ctx, s, ref, img, PushOptions{Progress: &prog})
		bodies, kinds := u.reset()
		if bodies != 0 {
			t.Errorf("push to %s sent %d blob bodies (%v)", ref, bodies, kinds)
		}
		t.Logf("push of existing blobs to %s: requests %v; progress:\n%s", ref, kinds, prog.String())
	}
}

// faulty answers the first blob/manifest requests with a sequence of
// faults before passing requests through.
type faulty struct {
	mu     sync.Mutex
	faults []string // "500", "429", "corrupt"
	match  func(*http.Request) bool
	hits   atomic.Int32
}

func (f *faulty) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.match(r) {
			h.ServeHTTP(w, r)
			return
		}
		f.mu.Lock()
		fault := ""
		if len(f.faults) > 0 {
			fault, f.faults = f.faults[0], f.faults[1:]
		}
		f.mu.Unlock()
		f.hits.Add(1)
		switch fault {
		case "500":
			http.Error(w, "injected failure", http.StatusInternalServerError)
		case "429":
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case "corrupt":
			if r.Method == http.MethodGet {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				body := rec.Body.Bytes()
				body[len(body)/2] ^= 0xff
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(body)
				return
			}
			// An upload whose bytes change on the way: the registry must
			// see the digest mismatch.
			b, _ := io.ReadAll(r.Body)
			if len(b) > 0 {
				b[len(b)/2] ^= 0xff
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			h.ServeHTTP(w, r)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

func retryingStore(t *testing.T) (*Store, *cache.Store) {
	s, c := newStore(t)
	s.backoff = remote.Backoff{Duration: 10 * time.Millisecond, Factor: 2, Steps: 5}
	return s, c
}

func TestPushRetriesAndRefusesCorruption(t *testing.T) {
	ctx := context.Background()
	isLayerPatch := func(r *http.Request) bool {
		return strings.Contains(r.URL.Path, "/blobs/uploads/") && (r.Method == http.MethodPatch || r.Method == http.MethodPut && r.ContentLength > 0)
	}
	isManifestPut := func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/")
	}

	t.Run("transient", func(t *testing.T) {
		f := &faulty{faults: []string{"500", "429"}, match: isLayerPatch}
		m := &faulty{faults: []string{"500", "429"}, match: isManifestPut}
		host := testutil.Registry(t, func(h http.Handler) http.Handler { return m.wrap(f.wrap(h)) })
		s, _ := retryingStore(t)
		img := storedRandom(t, s, 2)
		if _, err := s.Push(ctx, host+"/r/app:1", img, PushOptions{}); err != nil {
			t.Fatalf("push through 500 and 429: %v", err)
		}
		if err := validate.Image(testutil.RemoteImage(t, host+"/r/app:1")); err != nil {
			t.Error(err)
		}
	})

	t.Run("corrupt", func(t *testing.T) {
		f := &faulty{faults: []string{"corrupt", "corrupt", "corrupt", "corrupt", "corrupt", "corrupt", "corrupt", "corrupt"}, match: isLayerPatch}
		host := testutil.Registry(t, f.wrap)
		s, _ := retryingStore(t)
		img := storedRandom(t, s, 1)
		_, err := s.Push(ctx, host+"/r/app:1", img, PushOptions{})
		if err == nil {
			t.Fatal("push of bytes corrupted in transit succeeded")
		}
		t.Logf("corrupted upload: %v", err)
		if !strings.Contains(err.Error(), "pushing "+host+"/r/app:1") {
			t.Errorf("error lacks context: %v", err)
		}
		// Nothing was tagged.
		r, _ := name.ParseReference(host + "/r/app:1")
		if _, err := remote.Head(r); err == nil {
			t.Error("manifest was written although a blob failed")
		}
	})
}

func TestPullRetriesAndLeavesNothingOnCorruption(t *testing.T) {
	ctx := context.Background()
	img := randomImage(t, 2, time.Unix(1, 0))
	target := layerDigest(t, img, 0)
	isTarget := getsBlob(target)

	t.Run("transient", func(t *testing.T) {
		f := &faulty{faults: []string{"500", "429"}, match: isTarget}
		host := testutil.Registry(t, f.wrap)
		pushPullRetrying(t, ctx, host+"/p/app:1", img)
		if n := f.hits.Load(); n < 3 {
			t.Errorf("target blob requested %d times, want 3 (500, 429, ok)", n)
		}
	})

	t.Run("corrupt", func(t *testing.T) {
		f := &faulty{faults: []string{"500", "429", "corrupt"}, match: isTarget}
		host := testutil.Registry(t, f.wrap)
		push(t, host+"/p/app:1", img)
		s, content := retryingStore(t)
		_, err := s.Pull(ctx, host+"/p/app:1", PullOptions{})
		if err == nil {
			t.Fatal("pull of corrupt blob succeeded")
		}
		t.Logf("corrupt blob after transient faults: %v", err)
		if !strings.Contains(err.Error(), target.String()) || !strings.Contains(err.Error(), "checksum") {
			t.Errorf("error does not name the digest problem: %v", err)
		}
		if content.Has(target) || content.Has(testutil.ImageDigest(t, img)) {
			t.Error("corrupt blob or manifest was stored")
		}
		if list, _ := s.List(ctx); len(list) != 0 {
			t.Errorf("store lists %d images after a failed pull", len(list))
		}
		leftovers(t, filepath.Dir(s.root))
	})
}

func TestRecompress(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	img := storedRandom(t, s, 2)
	for _, c := range []cache.Compression{cache.Zstd, cache.Uncompressed} {
		got, err := s.Recompress(ctx, img, c, 3)
		if err != nil {
			t.Fatal(err)
		}
		// validate.Image only knows gzip; reading every layer through
		// Uncompressed checks it against the config's DiffID instead.
		ls, _ := got.Layers()
		for _, l := range ls {
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				t.Fatalf("%s: %v", c, err)
			}
			rc.Close()
		}
		m, _ := got.Manifest()
		want, _ := c.MediaType()
		for _, l := range m.Layers {
			if l.MediaType != want {
				t.Errorf("%s: layer media type %s", c, l.MediaType)
			}
		}
		id1, _ := img.ConfigName()
		id2, _ := got.ConfigName()
		if id1 != id2 {
			t.Errorf("%s: image ID changed", c)
		}
	}
	// Already gzip: nothing to do.
	same, err := s.Recompress(ctx, img, cache.Gzip, 0)
	if err != nil || testutil.ImageDigest(t, same) != testutil.ImageDigest(t, img) {
		t.Errorf("gzip recompression of a gzip image changed it: %v", err)
	}
}
