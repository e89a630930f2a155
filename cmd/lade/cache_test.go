package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// executed counts the RUN steps that really ran: each prints a marker that
// only shows up in the progress output when the step executes.
func executed(stderr string) int { return len(ranLine.FindAllString(stderr, -1)) }

var ranLine = regexp.MustCompile(`(?m)^#\d+ \d+\.\d+ RAN-`)

func ran(stderr, name string) bool {
	return regexp.MustCompile(`(?m)^#\d+ \d+\.\d+ RAN-` + name + `$`).MatchString(stderr)
}

func cachedCount(stderr string) int { return strings.Count(stderr, " CACHED\n") }

func TestBuildCache(t *testing.T) {
	root := newRoot(t)
	dir := writeTree(t, map[string]string{
		"Dockerfile": `FROM busybox AS deps
RUN echo RAN-deps && echo deps > /deps
FROM busybox
COPY a.txt /a.txt
RUN echo RAN-a && cat /a.txt > /copy
COPY --from=deps /deps /deps
COPY b.txt /b.txt
RUN echo RAN-b && cat /b.txt >> /copy
`,
		"a.txt": "aaaa\n",
		"b.txt": "bbbb\n",
	})
	build := func(args ...string) result {
		t.Helper()
		r := lade(t, root, "", append(append([]string{"build", "-t", "cached"}, args...), dir)...)
		if r.code != 0 {
			t.Fatalf("build failed: %s", r.stderr)
		}
		return r
	}
	digest := func() string { return imageDigest(t, root, "cached") }

	first := build()
	if n := executed(first.stderr); n != 3 {
		t.Fatalf("cold build executed %d RUN steps, want 3:\n%s", n, first.stderr)
	}
	d1 := digest()

	second := build()
	if n := executed(second.stderr); n != 0 {
		t.Errorf("no-op rebuild executed %d RUN steps:\n%s", n, second.stderr)
	}
	// Six steps and, as in BuildKit, the FROM of the shared base image.
	if n := cachedCount(second.stderr); n != 7 {
		t.Errorf("no-op rebuild: %d CACHED steps, want 7:\n%s", n, second.stderr)
	}
	if d2 := digest(); d2 != d1 {
		t.Errorf("no-op rebuild changed the image: %s -> %s", d1, d2)
	}

	// A build arg that no stage declares changes nothing.
	if r := build("--build-arg", "NOT_DECLARED=1"); executed(r.stderr) != 0 {
		t.Errorf("an unused build arg re-executed steps:\n%s", r.stderr)
	}

	// Changing b.txt misses only the steps from COPY b.txt on.
	os.WriteFile(filepath.Join(dir, "b.txt"), []byte("BBBB-longer\n"), 0o644)
	third := build("--explain-cache")
	if n := executed(third.stderr); n != 1 || !ran(third.stderr, "b") {
		t.Errorf("after changing b.txt: executed %d steps, want only RAN-b:\n%s", n, third.stderr)
	}
	if !strings.Contains(third.stderr, "cache miss: b.txt changed") {
		t.Errorf("--explain-cache does not name b.txt:\n%s", third.stderr)
	}
	if !strings.Contains(third.stderr, "cache miss: parent step") {
		t.Errorf("--explain-cache does not blame the parent for the RUN after it:\n%s", third.stderr)
	}

	// Same size, same mtime, other content: still a miss (moby/buildkit#4817).
	p := filepath.Join(dir, "a.txt")
	fi, _ := os.Stat(p)
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(p, []byte("AAAA\n"), 0o644)
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	fourth := build()
	if !ran(fourth.stderr, "a") {
		t.Errorf("a same-size, same-mtime rewrite was served from the cache:\n%s", fourth.stderr)
	}

	if n := executed(build("--no-cache").stderr); n != 3 {
		t.Errorf("--no-cache executed %d RUN steps, want 3", n)
	}
	filtered := build("--no-cache-filter", "deps")
	if !ran(filtered.stderr, "deps") || ran(filtered.stderr, "a") {
		t.Errorf("--no-cache-filter deps should rerun only the deps stage:\n%s", filtered.stderr)
	}
}

// A cached layer whose snapshot was deleted is unpacked again from the
// content store instead of failing.
func TestBuildCacheRestoresSnapshots(t *testing.T) {
	root := newRoot(t)
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo RAN-x && echo x > /x\nRUN cat /x\n"})
	if r := lade(t, root, "", "build", "-t", "s", dir); r.code != 0 {
		t.Fatal(r.stderr)
	}
	layers, _ := filepath.Glob(filepath.Join(root, "snapshots", "layers", "*"))
	for _, l := range layers {
		os.RemoveAll(l)
	}
	r := lade(t, root, "", "build", "-t", "s", dir)
	if r.code != 0 || executed(r.stderr) != 0 {
		t.Fatalf("rebuild after losing snapshots: code %d, executed %d:\n%s", r.code, executed(r.stderr), r.stderr)
	}
}

// --explain-cache names the variable behind an env miss: a build arg the
// stage declares, or an ENV set by an earlier instruction.
func TestExplainCacheNamesVariables(t *testing.T) {
	root := newRoot(t)
	df := "FROM busybox\nARG VERSION=1\nENV MODE=%s\nRUN echo $VERSION $MODE > /v\n"
	dir := writeTree(t, map[string]string{"Dockerfile": fmt.Sprintf(df, "a")})
	build := func(args ...string) string {
		t.Helper()
		r := lade(t, root, "", append(append([]string{"build", "--explain-cache", "-t", "e"}, args...), dir)...)
		if r.code != 0 {
			t.Fatalf("build failed: %s", r.stderr)
		}
		return r.stderr
	}
	build()
	if out := build("--build-arg", "VERSION=2"); !strings.Contains(out, "cache miss: build arg VERSION changed") {
		t.Errorf("a changed build arg is not named:\n%s", out)
	}
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(fmt.Sprintf(df, "b")), 0o644)
	if out := build("--build-arg", "VERSION=2"); !strings.Contains(out, "cache miss: env MODE changed") {
		t.Errorf("a changed ENV is not named:\n%s", out)
	}
}
