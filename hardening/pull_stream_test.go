package hardening

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/lade-build/lade/internal/testutil"
)

// streamImage is busybox with three more layers, and extra ones; the
// third deletes what the second wrote, so unpacking them out of order
// would show.
func streamImage(t *testing.T, extra ...[]byte) v1.Image {
	t.Helper()
	layers := append([][]byte{
		layerTar(t, dir("data"), file("data/a", "one\n")),
		layerTar(t, dir("data"), file("data/b", "two\n"), file("data/gone", "x\n")),
		layerTar(t, dir("data"), file("data/c", "three\n"), file("data/.wh.gone", "")),
	}, extra...)
	img := testutil.BusyboxImage(t)
	for _, b := range layers {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// lastLayer is the digest of img's last layer and the DiffIDs it is
// known by: its config's and its content's.
func lastLayer(t *testing.T, img v1.Image) (v1.Hash, []v1.Hash) {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	l := layers[len(layers)-1]
	d, _ := l.Digest()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatal(err)
	}
	content := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	return d, []v1.Hash{content, cfg.RootFS.DiffIDs[len(layers)-1]}
}

// lieAbout serves blob d with edit applied to its body.
func lieAbout(d v1.Hash, edit func([]byte) []byte) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+d.String()) {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(edit(rec.Body.Bytes()))
		})
	}
}

// TestPullUnpackWhileDownloading pulls an image whose layers are unpacked
// in parallel as they download, and images whose registry lies about a
// layer: in its bytes mid-stream, or in the config's DiffID for intact
// bytes, or that serves a layer with an entry escaping the root. Each
// fails the pull with one clear line and leaves neither the layer's blob
// nor its snapshot, and nothing outside the root.
func TestPullUnpackWhileDownloading(t *testing.T) {
	needLade(t)
	img := streamImage(t)
	lyingImg := testutil.EditConfig(t, img, func(cf *v1.ConfigFile) {
		cf.RootFS.DiffIDs[len(cf.RootFS.DiffIDs)-1] = v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	})
	hostile := streamImage(t, layerTar(t, dir("a/"), file("a/../../../tmp/lade-hardening-pwned", "x")))
	lastDigest, _ := lastLayer(t, img)
	flip := func(b []byte) []byte { b[len(b)/2] ^= 0xff; return b }

	tests := []struct {
		name string
		img  v1.Image
		wrap func(http.Handler) http.Handler
		want string // "" succeeds
	}{
		{"parallel layers", img, nil, ""},
		{"bytes flipped mid-stream", img, lieAbout(lastDigest, flip), "digest mismatch"},
		{"diff id lies", lyingImg, nil, "digest mismatch"},
		{"hostile entry", hostile, nil, "escapes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := newRoot(t)
			host := testutil.Registry(t, tt.wrap)
			ref := host + "/stream/app:v1"
			tag, err := name.NewTag(ref, name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(tag, tt.img); err != nil {
				t.Fatal(err)
			}
			r := lade(t, root, nil, "pull", "-q", ref)
			checkStore(t, root)
			if tt.want == "" {
				wantOK(t, r)
				out := lade(t, root, nil, "run", "--rm", ref, "sh", "-c", "cat /data/*")
				wantOK(t, out)
				if out.stdout != "one\ntwo\nthree\n" {
					t.Fatalf("layers unpacked wrong: /data/* holds %q", out.stdout)
				}
				return
			}
			t.Logf("error: %s", r.stderr)
			wantFail(t, r, tt.want)
			if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 {
				t.Errorf("error is %d lines, want 1:\n%s", len(lines), r.stderr)
			}
			checkCanaries(t)
			badDigest, badIDs := lastLayer(t, tt.img)
			if _, err := os.Stat(filepath.Join(root, "content", "blobs", "sha256", badDigest.Hex)); err == nil {
				t.Errorf("blob %s was committed", badDigest)
			}
			for _, id := range badIDs {
				if _, err := os.Stat(filepath.Join(root, "snapshots", "layers", id.Hex)); err == nil {
					t.Errorf("snapshot %s was committed", id)
				}
			}
			if ents, _ := os.ReadDir(filepath.Join(root, "snapshots", "tmp")); len(ents) > 0 {
				t.Errorf("unpack temp dirs left: %d", len(ents))
			}
		})
	}
}
