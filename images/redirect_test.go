package images

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/lade-build/lade/internal/testutil"
)

// TestPullRedirectDropsCredentials: a registry that wants basic auth
// redirects every blob GET to blob storage on another host:port (same
// loopback address: go-containerregistry refuses redirects to another
// private or loopback host name). The pull follows the redirects, and the
// storage server never sees the registry's credentials.
func TestPullRedirectDropsCredentials(t *testing.T) {
	ctx := context.Background()
	reg := testutil.RegistryHandler()

	var mu sync.Mutex
	var storageHits int
	var leaked []string
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		storageHits++
		if a := r.Header.Get("Authorization"); a != "" {
			leaked = append(leaked, a)
		}
		mu.Unlock()
		// Serve the blob straight from the registry's handler.
		repo, d, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/storage/"), "@")
		in := httptest.NewRequest(http.MethodGet, "/v2/"+repo+"/blobs/"+d, nil)
		reg.ServeHTTP(w, in)
	}))
	t.Cleanup(storage.Close)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "me" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if repo, d, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/blobs/sha256:"); ok && r.Method == http.MethodGet {
			http.Redirect(w, r, storage.URL+"/storage/"+repo+"@sha256:"+d, http.StatusTemporaryRedirect)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	img := randomImage(t, 2, time.Unix(3, 0))
	ref := host + "/redir/app:1"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img, remote.WithAuth(&authn.Basic{Username: "me", Password: "s3cret"})); err != nil {
		t.Fatal(err)
	}

	// lade finds the credentials in docker's config, as after lade login.
	cfg := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("me:s3cret"))
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", cfg)

	s := quickStore(t)
	got, err := s.Pull(ctx, ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantImage(t, "pulled", got, testutil.ImageDigest(t, img))
	mu.Lock()
	defer mu.Unlock()
	if storageHits != 3 {
		t.Errorf("blob storage served %d requests, want 3 (config and 2 layers)", storageHits)
	}
	if len(leaked) != 0 {
		t.Errorf("blob storage received credentials: %q", leaked)
	}
}
