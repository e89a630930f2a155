package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/internal/testutil"
)

// cacheTotal is the build cache size as `lade cache du` computes it.
func cacheTotal(t *testing.T, root string) int64 {
	t.Helper()
	a := &app{root: root, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	g, err := a.gc()
	if err != nil {
		t.Fatal(err)
	}
	u, err := g.Usage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return u.Total()
}

// verifyContent reads back every blob, which checks its digest.
func verifyContent(t *testing.T, root string) {
	t.Helper()
	cs, err := cache.Open(filepath.Join(root, "content"))
	if err != nil {
		t.Fatal(err)
	}
	err = cs.Walk(func(d v1.Hash, _ int64) error {
		rc, err := cs.Open(d)
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.Copy(io.Discard, rc)
		return err
	})
	if err != nil {
		t.Fatalf("content store is inconsistent: %v", err)
	}
}

// TestConcurrentBuildsAndPrune runs two builds at once on one root and a
// prune while one of them is held in its RUN step, then removes an image,
// prunes again and rebuilds.
func TestConcurrentBuildsAndPrune(t *testing.T) {
	root := newRoot(t)
	// Build a waits in RUN until the test creates "go" in its context;
	// the context is bind-mounted as is (no .dockerignore).
	ctxA := writeTree(t, map[string]string{"Dockerfile": `FROM busybox
RUN head -c 2000000 /dev/urandom > /big && echo RAN-a
RUN --mount=type=bind,target=/ctx sh -c 'until [ -e /ctx/go ]; do sleep 0.02; done; echo a > /who'
`})
	ctxB := writeTree(t, map[string]string{"Dockerfile": `FROM busybox
RUN head -c 1000000 /dev/urandom > /big && echo RAN-b
RUN echo b > /who
`})
	buildWhilePruning(t, root, ctxA, ctxB)
	verifyContent(t, root)
	for _, name := range []string{"a", "b"} {
		r := lade(t, root, "", "run", "--rm", "img-"+name, "cat", "/who")
		if r.code != 0 || strings.TrimSpace(r.stdout) != name {
			t.Fatalf("run img-%s: code %d, out %q, err %s", name, r.code, r.stdout, r.stderr)
		}
	}

	// Removing img-a makes its layers reclaimable; img-b's stay.
	pruneReclaimsRemovedImage(t, root)
	verifyContent(t, root)

	// Tagged images survive whole: save reads and verifies every blob.
	for _, img := range []string{"img-b", "busybox"} {
		if r := lade(t, root, "", "save", "-o", filepath.Join(t.TempDir(), "x.tar"), img); r.code != 0 {
			t.Fatalf("save %s after prune: %s", img, r.stderr)
		}
	}
	if r := lade(t, root, "", "run", "--rm", "img-b", "cat", "/who"); r.code != 0 || strings.TrimSpace(r.stdout) != "b" {
		t.Fatalf("run img-b after prune: %q %s", r.stdout, r.stderr)
	}

	// A rebuild of a misses the cache and builds cleanly.
	r := lade(t, root, "", "build", "--progress", "plain", "-t", "img-a", ctxA)
	if r.code != 0 {
		t.Fatalf("rebuild: %s", r.stderr)
	}
	if !ran(r.stderr, "a") {
		t.Fatalf("rebuild after prune did not run the pruned step:\n%s", r.stderr)
	}
	if r := lade(t, root, "", "run", "--rm", "img-a", "cat", "/who"); r.code != 0 || strings.TrimSpace(r.stdout) != "a" {
		t.Fatalf("run rebuilt img-a: %q %s", r.stdout, r.stderr)
	}
	verifyContent(t, root)
}

// buildWhilePruning builds ctxA as img-a and ctxB as img-b at once while
// a cache prune starts: the prune must wait for both builds, and all
// three must succeed. ctxA's build waits in a RUN step until the test
// creates "go" in its context.
func buildWhilePruning(t *testing.T, root, ctxA, ctxB string) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	builds := map[string]*testutil.LockedBuffer{"a": {}, "b": {}}
	codes := map[string]int{}
	var mu sync.Mutex
	for name, dir := range map[string]string{"a": ctxA, "b": ctxB} {
		wg.Go(func() {
			code := Run(ctx, []string{"--root", root, "build", "--progress", "plain", "-t", "img-" + name, dir}, strings.NewReader(""), io.Discard, builds[name])
			mu.Lock()
			codes[name] = code
			mu.Unlock()
		})
	}
	// Build a is inside its RUN once it printed the first RUN's marker.
	testutil.Poll(t, "build a to reach its waiting RUN", func() bool { return strings.Contains(builds["a"].String(), "RAN-a") })
	pruneErr := &testutil.LockedBuffer{}
	pruneOut := &testutil.LockedBuffer{}
	pruned := make(chan int, 1)
	go func() {
		pruned <- Run(ctx, []string{"--root", root, "cache", "prune", "-f", "--all", "--min-age", "0s"}, strings.NewReader(""), pruneOut, pruneErr)
	}()
	testutil.Poll(t, "prune to wait for the builds", func() bool { return strings.Contains(pruneErr.String(), "waiting for running builds") })
	if err := os.WriteFile(filepath.Join(ctxA, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if code := <-pruned; code != 0 {
		t.Fatalf("prune failed: %s", pruneErr.String())
	}
	for name, code := range codes {
		if code != 0 {
			t.Fatalf("build %s failed:\n%s", name, builds[name].String())
		}
	}
}

// pruneReclaimsRemovedImage removes img-a and checks that a prune frees
// its layers.
func pruneReclaimsRemovedImage(t *testing.T, root string) {
	t.Helper()
	before := cacheTotal(t, root)
	if r := lade(t, root, "", "rmi", "img-a"); r.code != 0 {
		t.Fatalf("rmi: %s", r.stderr)
	}
	withGarbage := cacheTotal(t, root)
	if withGarbage <= before+1_000_000 {
		t.Fatalf("cache du after rmi is %d, want over %d (img-a's 2 MB layer)", withGarbage, before+1_000_000)
	}
	if r := lade(t, root, "", "cache", "prune", "-f", "--min-age", "0s"); r.code != 0 {
		t.Fatalf("prune: %s", r.stderr)
	}
	after := cacheTotal(t, root)
	if after >= withGarbage-1_000_000 {
		t.Fatalf("prune reclaimed too little: du %d -> %d", withGarbage, after)
	}
	t.Logf("cache du: %d before rmi, %d after rmi, %d after prune", before, withGarbage, after)
}

func TestSystemDF(t *testing.T) {
	root := newRoot(t)
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN head -c 500000 /dev/urandom > /big\n"})
	if r := lade(t, root, "", "build", "-q", "-t", "df", dir); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := lade(t, root, "", "system", "df")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	for _, want := range []string{"TYPE", "Images          2", "Containers", "Local Volumes", "Build Cache"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("system df lacks %q:\n%s", want, r.stdout)
		}
	}
	// Without -f, prune asks; "n" keeps everything.
	r = lade(t, root, "n\n", "system", "prune")
	if r.code != 0 || !strings.Contains(r.stdout, "Are you sure") {
		t.Fatalf("system prune without -f: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := lade(t, root, "", "run", "--rm", "df", "true"); r.code != 0 {
		t.Fatal(r.stderr)
	}
}
