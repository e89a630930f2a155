package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// bigLayer is the size of the random file the intermediate stage makes:
// incompressible, so its layer blob is about as big.
const bigLayer = 20 << 20

// lazyDockerfile's build stage makes a big layer; the final stage copies
// two small files out of it.
const lazyDockerfile = `FROM busybox AS build
RUN echo RAN-big && dd if=/dev/urandom of=/big bs=1048576 count=20 2>/dev/null && echo small > /small
ARG V=1
RUN echo RAN-v && echo "v$V" > /v && wc -c < /big >> /v
FROM busybox
COPY --from=build /small /small
COPY --from=build /v /v
`

// countingRegistry serves an in-memory registry on loopback and counts
// the bytes of the blobs it sends.
func countingRegistry(t *testing.T) (host string, sent *atomic.Int64) {
	sent = new(atomic.Int64)
	host = testutil.Registry(t, func(reg http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				w = countWriter{w, sent}
			}
			reg.ServeHTTP(w, r)
		})
	})
	return host, sent
}

type countWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// storedFrom sums the sizes of the blobs of the OCI layout cacheDir that
// root's content store now holds: what a build took from the cache.
func storedFrom(t *testing.T, cacheDir, root string) int64 {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(cacheDir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		if fi, err := os.Stat(filepath.Join(root, "content", "blobs", "sha256", e.Name())); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// --cache-from in an empty root fetches only the layers a build needs:
// the final image's when every step hits, and an intermediate stage's
// only once one of its steps has to run on top of them.
func TestCacheFromFetchesLazily(t *testing.T) {
	tests := []struct {
		name string
		// cache returns the --cache-to and --cache-from values and a
		// counter of the cache bytes a root has fetched.
		cache func(t *testing.T) (to, from string, fetched func(root string) int64)
	}{
		{"registry", func(t *testing.T) (string, string, func(string) int64) {
			host, sent := countingRegistry(t)
			ref := host + "/cache/app:buildcache"
			return "type=registry,ref=" + ref + ",mode=max", "type=registry,ref=" + ref, func(string) int64 { return sent.Swap(0) }
		}},
		{"local", func(t *testing.T) (string, string, func(string) int64) {
			dir := filepath.Join(t.TempDir(), "cache")
			return "type=local,dest=" + dir + ",mode=max", "type=local,src=" + dir, func(root string) int64 { return storedFrom(t, dir, root) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to, from, fetched := tt.cache(t)
			ctxDir := writeTree(t, map[string]string{"Dockerfile": lazyDockerfile})
			ci1 := newRoot(t)
			if r := lade(t, ci1, "", "build", "-t", "app", "--cache-to", to, ctxDir); r.code != 0 {
				t.Fatalf("first machine: %s", r.stderr)
			}
			want := imageDigest(t, ci1, "app")
			fetched(ci1)

			// Every step hits: only the final stage's small layers travel.
			ci2 := newRoot(t)
			r := lade(t, ci2, "", "build", "-t", "app", "--cache-from", from, ctxDir)
			if r.code != 0 {
				t.Fatalf("cached rebuild: %s", r.stderr)
			}
			if n := executed(r.stderr); n != 0 {
				t.Errorf("cached rebuild executed %d RUN steps, want 0:\n%s", n, r.stderr)
			}
			n := fetched(ci2)
			t.Logf("cached rebuild fetched %d bytes from the cache", n)
			if n == 0 || n > bigLayer/20 {
				t.Errorf("cached rebuild fetched %d bytes, want the final layers' few (big layer: %d)", n, bigLayer)
			}
			if got := imageDigest(t, ci2, "app"); got != want {
				t.Errorf("cached rebuild gave image %s, want %s", got, want)
			}

			// A changed ARG misses the second RUN, which runs on the big
			// layer: that one is fetched and unpacked now.
			ci3 := newRoot(t)
			im := buildOCI(t, ci3, ctxDir, "--cache-from", from, "--build-arg", "V=2")
			n = fetched(ci3)
			t.Logf("rebuild with a miss fetched %d bytes from the cache", n)
			if n < bigLayer {
				t.Errorf("rebuild with a miss fetched %d bytes, want the big layer's %d", n, bigLayer)
			}
			if got, want := im.Tree["/v"].Content, "v2\n20971520\n"; got != want {
				t.Errorf("/v = %q, want %q", got, want)
			}
			if got := im.Tree["/small"].Content; got != "small\n" {
				t.Errorf("/small = %q, want %q", got, "small\n")
			}
		})
	}
}

// A new step in the final stage that reads the cached build stage (COPY
// --from, RUN --mount from=) has the build stage's layers fetched and
// unpacked, although every step of that stage hits.
func TestCacheFromFetchesForReader(t *testing.T) {
	tests := []struct {
		name, step, path, want string
	}{
		{"copy", "COPY --from=build /big /big2\n", "/big2", ""},
		{"mount", "RUN --mount=from=build,target=/b echo RAN-mount && wc -c < /b/big > /size\n", "/size", "20971520\n"},
	}
	dir := filepath.Join(t.TempDir(), "cache")
	ci1 := newRoot(t)
	if r := lade(t, ci1, "", "build", "--cache-to", "type=local,dest="+dir+",mode=max", writeTree(t, map[string]string{"Dockerfile": lazyDockerfile})); r.code != 0 {
		t.Fatalf("first machine: %s", r.stderr)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := newRoot(t)
			im := buildOCI(t, root, writeTree(t, map[string]string{"Dockerfile": lazyDockerfile + tt.step}), "--cache-from", "type=local,src="+dir)
			if n := storedFrom(t, dir, root); n < bigLayer {
				t.Errorf("fetched %d bytes, want the big layer's %d", n, bigLayer)
			}
			e, ok := im.Tree[tt.path]
			switch {
			case !ok:
				t.Fatalf("no %s in the image", tt.path)
			case tt.want == "" && len(e.Content) != bigLayer:
				t.Errorf("%s has %d bytes, want %d", tt.path, len(e.Content), bigLayer)
			case tt.want != "" && e.Content != tt.want:
				t.Errorf("%s = %q, want %q", tt.path, e.Content, tt.want)
			}
		})
	}
}
