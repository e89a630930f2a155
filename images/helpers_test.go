package images

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/internal/testutil"
)

// newStore returns an image store and its content store in a fresh root.
func newStore(t *testing.T) (*Store, *cache.Store) {
	t.Helper()
	root := t.TempDir()
	content, err := cache.Open(filepath.Join(root, "content"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(root, "images"), content)
	if err != nil {
		t.Fatal(err)
	}
	return s, content
}

// storeWith is a fresh store holding a random image of layers layers
// tagged ref.
func storeWith(t *testing.T, ref string, layers int) (*Store, v1.Image) {
	t.Helper()
	s, _ := newStore(t)
	img := randomImage(t, layers, time.Unix(100, 0))
	if err := s.Tag(context.Background(), ref, img); err != nil {
		t.Fatal(err)
	}
	return s, img
}

// randomImage is a random image with a distinct creation time, so List
// order is predictable.
func randomImage(t *testing.T, layers int, created time.Time) v1.Image {
	t.Helper()
	img, err := random.Image(512, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.CreatedAt(img, v1.Time{Time: created})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// quickStore is a store whose registry requests are not retried.
func quickStore(t *testing.T) *Store {
	t.Helper()
	s, _ := newStore(t)
	s.backoff = remote.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 1}
	return s
}

// push uploads img, an image or a multi-platform index, to the registry
// as ref.
func push(t *testing.T, ref string, img remote.Taggable) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Push(r, img); err != nil {
		t.Fatal(err)
	}
}

// storedRandom tags a random image in s and returns the store-backed copy.
func storedRandom(t *testing.T, s *Store, layers int) v1.Image {
	t.Helper()
	ctx := context.Background()
	if err := s.Tag(ctx, "src:latest", randomImage(t, layers, time.Unix(100, 0))); err != nil {
		t.Fatal(err)
	}
	img, err := s.Get(ctx, "src:latest")
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// leftovers fails if a half-written ingest or temporary file (old
// CreateTemp names, atomicfile's ".NAME.tmp-PID-RANDOM") survived under root.
func leftovers(t *testing.T, root string) {
	t.Helper()
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && (strings.Contains(p, "ingest") || strings.HasSuffix(p, ".tmp") || strings.Contains(filepath.Base(p), ".tmp-")) {
			t.Errorf("leftover file %s", p)
		}
		return nil
	})
}

// mountRegistry starts a registry that keeps blobs per repository (so
// mounts mean something) and counts uploads; it returns its host:port.
func mountRegistry(t *testing.T) (string, *uploads, *perRepo) {
	u, pr := &uploads{}, &perRepo{}
	return testutil.Registry(t, func(h http.Handler) http.Handler { return u.wrap(pr.wrap(h)) }), u, pr
}

func validateRemote(t *testing.T, ref string) {
	t.Helper()
	if err := validate.Image(testutil.RemoteImage(t, ref)); err != nil {
		t.Errorf("%s: %v", ref, err)
	}
}

// regTar is a tar of regular files, given as name, content pairs.
func regTar(t *testing.T, nameContent ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+1 < len(nameContent); i += 2 {
		b := nameContent[i+1]
		if err := tw.WriteHeader(&tar.Header{Name: nameContent[i], Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wantImage fails t unless got is a valid image whose digest is want;
// what names got in the messages.
func wantImage(t *testing.T, what string, got v1.Image, want v1.Hash) {
	t.Helper()
	if d := testutil.ImageDigest(t, got); d != want {
		t.Errorf("%s: digest %s, want %s", what, d, want)
	}
	if err := validate.Image(got); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// pushPullRetrying pushes img as ref and pulls it back into a fresh
// retrying store, failing t unless img arrives whole; it returns that store.
func pushPullRetrying(t *testing.T, ctx context.Context, ref string, img v1.Image) *Store {
	t.Helper()
	push(t, ref, img)
	s, _ := retryingStore(t)
	got, err := s.Pull(ctx, ref, PullOptions{})
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	wantImage(t, "pulled", got, testutil.ImageDigest(t, img))
	return s
}

// mustPush pushes img as ref from s, failing t if that fails.
func mustPush(t *testing.T, ctx context.Context, s *Store, ref string, img v1.Image, opts PushOptions) {
	t.Helper()
	if _, err := s.Push(ctx, ref, img, opts); err != nil {
		t.Fatal(err)
	}
}

// layerDigest is the digest of img's layer i.
func layerDigest(t *testing.T, img v1.Image, i int) v1.Hash {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	d, err := layers[i].Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// getsBlob matches a registry request that downloads blob d.
func getsBlob(d v1.Hash) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+d.String())
	}
}
