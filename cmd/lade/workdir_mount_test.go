package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCacheMountUnderWorkdir: with WORKDIR /src an absolute cache target
// stays absolute, as in BuildKit. The step's writes land in the cache
// dir, the next build sees them, and nothing reaches the image under
// /src/root or at the target. A relative target is under the workdir;
// secrets follow the same rule.
func TestCacheMountUnderWorkdir(t *testing.T) {
	root := newRoot(t)
	ctx := writeTree(t, map[string]string{"Dockerfile": `FROM busybox
WORKDIR /src
RUN --mount=type=cache,target=/root/.cache/x n=$(cat /root/.cache/x/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /root/.cache/x/n; echo $n > /count
RUN --mount=type=cache,target=rel echo r > /src/rel/mark && test -f /src/rel/mark && echo ok > /rel-ok
RUN --mount=type=secret,id=tok,target=/etc/tok --mount=type=secret,id=tok,target=etc/tok,required=true \
    test -f /etc/tok && test -f /src/etc/tok && test ! -e /src/etc/etc && echo ok > /secret-ok
`})
	secret := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"1\n", "2\n"} {
		im := buildOCI(t, root, ctx, "--no-cache", "--secret", "id=tok,src="+secret)
		if got := im.Tree["/count"].Content; got != want {
			t.Fatalf("build %d: /count = %q, want %q", i+1, got, want)
		}
		if got := im.Tree["/rel-ok"].Content; got != "ok\n" {
			t.Errorf("build %d: relative cache target not under the workdir: %q", i+1, got)
		}
		if got := im.Tree["/secret-ok"].Content; got != "ok\n" {
			t.Errorf("build %d: secrets not at /etc/tok (absolute) and /src/etc/tok (relative)", i+1)
		}
		for p := range im.Tree {
			if strings.HasPrefix(p, "/src/root") || strings.HasPrefix(p, "/root/.cache") || strings.HasPrefix(p, "/src/rel/") {
				t.Errorf("build %d: %s in the image", i+1, p)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(cacheData(root, "/root/.cache/x"), "n")); err != nil || string(b) != "2\n" {
		t.Errorf("cache dir of /root/.cache/x holds %q (%v), want 2", b, err)
	}
	if _, err := os.Stat(filepath.Join(cacheData(root, "rel"), "mark")); err != nil {
		t.Errorf("relative target's cache (id rel): %v", err)
	}
}
