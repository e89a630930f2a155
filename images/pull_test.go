package images

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/lade-build/lade/internal/testutil"
)

func TestPullImage(t *testing.T) {
	ctx := context.Background()
	var blobGets atomic.Int32
	host := testutil.Registry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				blobGets.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	img := randomImage(t, 3, time.Unix(1000, 0))
	push(t, host+"/test/app:v1", img)
	blobGets.Store(0)

	s := quickStore(t)
	var prog bytes.Buffer
	got, err := s.Pull(ctx, host+"/test/app:v1", PullOptions{Progress: &prog})
	if err != nil {
		t.Fatal(err)
	}
	wantImage(t, "pulled", got, testutil.ImageDigest(t, img))
	if n := blobGets.Load(); n != 4 {
		t.Errorf("%d blob downloads, want 4 (config + 3 layers)", n)
	}
	lines := strings.Split(strings.TrimSpace(prog.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "pulling sha256:") {
		t.Errorf("progress:\n%s", prog.String())
	}

	// Pull does not tag; Tag then Get gives the same digest.
	if _, err := s.Get(ctx, host+"/test/app:v1"); err == nil {
		t.Error("Pull tagged the image")
	}
	if err := s.Tag(ctx, host+"/test/app:v1", got); err != nil {
		t.Fatal(err)
	}
	if again, err := s.Get(ctx, host+"/test/app:v1"); err != nil || testutil.ImageDigest(t, again) != testutil.ImageDigest(t, img) {
		t.Fatalf("Get after Tag: %v", err)
	}

	// A second pull downloads no blobs and says so.
	blobGets.Store(0)
	prog.Reset()
	if _, err := s.Pull(ctx, host+"/test/app@"+testutil.ImageDigest(t, img).String(), PullOptions{Progress: &prog}); err != nil {
		t.Fatal(err)
	}
	if n := blobGets.Load(); n != 0 {
		t.Errorf("second pull downloaded %d blobs", n)
	}
	if n := strings.Count(prog.String(), "exists sha256:"); n != 4 || strings.Contains(prog.String(), "pulling") {
		t.Errorf("second pull's progress:\n%s", prog.String())
	}
}

func TestPullIndex(t *testing.T) {
	ctx := context.Background()
	host := testutil.Registry(t, nil)
	amd := randomImage(t, 1, time.Unix(1, 0))
	arm := randomImage(t, 2, time.Unix(2, 0))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	ref := host + "/multi/app:latest"
	push(t, ref, idx)
	tests := []struct {
		name string
		plat v1.Platform
		want v1.Hash
	}{
		{"default", v1.Platform{}, testutil.ImageDigest(t, amd)},
		{"amd64", v1.Platform{OS: "linux", Architecture: "amd64"}, testutil.ImageDigest(t, amd)},
		{"arm64", v1.Platform{OS: "linux", Architecture: "arm64"}, testutil.ImageDigest(t, arm)},
		{"arm64/v8", v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, testutil.ImageDigest(t, arm)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := quickStore(t)
			img, err := s.Pull(ctx, ref, PullOptions{Platform: tt.plat})
			if err != nil {
				t.Fatal(err)
			}
			wantImage(t, "pulled", img, tt.want)
		})
	}
	_, err := quickStore(t).Pull(ctx, ref, PullOptions{Platform: v1.Platform{OS: "linux", Architecture: "s390x"}})
	if err == nil || !strings.Contains(err.Error(), "no manifest for platform linux/s390x") {
		t.Fatalf("pull of missing platform: %v", err)
	}
}

// TestPullCorruptBlob serves one layer with a flipped byte: the pull must
// fail naming the digest and store nothing under it.
func TestPullCorruptBlob(t *testing.T) {
	ctx := context.Background()
	img := randomImage(t, 2, time.Unix(1, 0))
	bad := layerDigest(t, img, 1)
	host := testutil.Registry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !getsBlob(bad)(r) {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if len(body) > 20 {
				body[20] ^= 0xff
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(body)
		})
	})
	push(t, host+"/test/bad:v1", img)

	s := quickStore(t)
	_, err := s.Pull(ctx, host+"/test/bad:v1", PullOptions{})
	if err == nil {
		t.Fatal("pull of corrupt blob succeeded")
	}
	t.Logf("corrupt blob: %v", err)
	if !strings.Contains(err.Error(), bad.String()) {
		t.Errorf("error %q does not name %s", err, bad)
	}
	if s.content.Has(bad) {
		t.Error("corrupt blob was stored")
	}
	if s.content.Has(testutil.ImageDigest(t, img)) {
		t.Error("manifest stored although a layer failed")
	}
}

func TestPullServerError(t *testing.T) {
	ctx := context.Background()
	host := testutil.Registry(t, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "registry on fire", http.StatusInternalServerError)
		})
	})
	_, err := quickStore(t).Pull(ctx, host+"/test/app:v1", PullOptions{})
	if err == nil {
		t.Fatal("pull from failing registry succeeded")
	}
	t.Logf("server error: %v", err)
	for _, want := range []string{"pulling " + host + "/test/app:v1", "500"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestPullBadReference(t *testing.T) {
	if _, err := quickStore(t).Pull(context.Background(), "UPPER/case", PullOptions{}); err == nil {
		t.Fatal("pull of invalid reference succeeded")
	}
}

func TestInsecureHosts(t *testing.T) {
	tests := []struct {
		ref      string
		insecure []string
		scheme   string
	}{
		{"127.0.0.1:5000/a", nil, "http"},
		{"localhost:5000/a", nil, "http"},
		{"[::1]:5000/a", nil, "http"},
		{"registry.example.com/a", nil, "https"},
		{"registry.example.com/a", []string{"registry.example.com"}, "http"},
		{"registry.example.com:8080/a", []string{"registry.example.com"}, "http"},
		{"registry.example.com:8080/a", []string{"registry.example.com:8080"}, "http"},
		{"other.example.com/a", []string{"registry.example.com"}, "https"},
	}
	for _, tt := range tests {
		r, err := parseRemote(tt.ref, tt.insecure)
		if err != nil {
			t.Fatalf("parseRemote(%q): %v", tt.ref, err)
		}
		if got := r.Context().Scheme(); got != tt.scheme {
			t.Errorf("%s with insecure %v: scheme %s, want %s", tt.ref, tt.insecure, got, tt.scheme)
		}
	}
}
