package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

// cacheData is the host dir of a cache mount id under root.
func cacheData(root, id string) string {
	sum := sha256.Sum256([]byte(id))
	return filepath.Join(root, "cachemounts", hex.EncodeToString(sum[:]), "data")
}

// TestCacheMountPersists: a counter in a cache mount goes 1, 2 over two
// builds on the same root, and the mount never reaches a layer.
func TestCacheMountPersists(t *testing.T) {
	root := newRoot(t)
	ctx := writeTree(t, map[string]string{"Dockerfile": `FROM busybox
RUN --mount=type=cache,target=/var/cache/counter n=$(cat /var/cache/counter/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /var/cache/counter/n; echo $n > /count
RUN --mount=type=cache,id=../../etc,target=/c,uid=1000,gid=1000,mode=0700 stat -c '%a %u %g' /c > /escape-stat && touch /c/x
`})
	for i, want := range []string{"1\n", "2\n"} {
		im := buildOCI(t, root, ctx, "--no-cache") // the step must run each time
		if got := im.Tree["/count"].Content; got != want {
			t.Fatalf("build %d: /count = %q, want %q", i+1, got, want)
		}
		if got := im.Tree["/escape-stat"].Content; got != "700 1000 1000\n" {
			t.Errorf("build %d: cache root %q, want 700 1000 1000", i+1, got)
		}
		for p := range im.Tree {
			if strings.HasPrefix(p, "/var/cache") || strings.HasPrefix(p, "/c") && p != "/count" {
				t.Errorf("build %d: %s in the image", i+1, p)
			}
		}
	}
	// The id ../../etc is only hashed: its data sits in the cache dir.
	if _, err := os.Stat(filepath.Join(cacheData(root, "../../etc"), "x")); err != nil {
		t.Errorf("cache for id ../../etc not under cachemounts: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "etc")); err == nil {
		t.Error("cache id escaped into the root")
	}
}

// TestCacheMountSharing runs two builds at once on one root. With
// sharing=locked the second step waits for the first: their start/end
// markers never interleave. With sharing=private a build that finds the
// cache busy gets a fresh, empty one.
func TestCacheMountSharing(t *testing.T) {
	root := newRoot(t)
	// Warm the root so both builds only run their step.
	buildOCI(t, root, writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nRUN true\n"}))

	locked := writeTree(t, map[string]string{"Dockerfile": `FROM busybox
ARG NAME
RUN --mount=type=cache,id=lk,target=/c,sharing=locked echo "start $NAME" >> /c/log && sleep 1 && echo "end $NAME" >> /c/log
`})
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b"} {
		wg.Go(func() {
			r := lade(t, root, "", "build", "--no-cache", "--build-arg", "NAME="+name, locked)
			if r.code != 0 {
				t.Errorf("build %s failed:\n%s", name, r.stderr)
			}
		})
	}
	wg.Wait()
	b, err := os.ReadFile(filepath.Join(cacheData(root, "lk"), "log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 {
		t.Fatalf("log has %d lines:\n%s", len(lines), b)
	}
	for i := 0; i < 4; i += 2 {
		s, e := strings.TrimPrefix(lines[i], "start "), strings.TrimPrefix(lines[i+1], "end ")
		if !strings.HasPrefix(lines[i], "start ") || !strings.HasPrefix(lines[i+1], "end ") || s != e {
			t.Fatalf("locked steps overlapped:\n%s", b)
		}
	}

	// private: hold the cache in one build, then build again meanwhile.
	holder := writeTree(t, map[string]string{"Dockerfile": `FROM busybox
RUN --mount=type=cache,id=pv,target=/c,sharing=private touch /c/busy && while [ ! -e /c/release ]; do sleep 0.05; done && rm /c/busy /c/release
`})
	other := writeTree(t, map[string]string{"Dockerfile": `FROM busybox
RUN --mount=type=cache,id=pv,target=/c,sharing=private ls -A /c > /seen
`})
	done := make(chan result, 1)
	go func() { done <- lade(t, root, "", "build", "--no-cache", holder) }()
	data := cacheData(root, "pv")
	waitFor(t, filepath.Join(data, "busy"))
	im := buildOCI(t, root, other, "--no-cache")
	if got := im.Tree["/seen"].Content; got != "" {
		t.Errorf("private cache in use was shared: saw %q", got)
	}
	if err := os.WriteFile(filepath.Join(data, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.code != 0 {
		t.Fatalf("holder build failed:\n%s", r.stderr)
	}
	// Once free, private users get the persistent cache again.
	if err := os.WriteFile(filepath.Join(data, "kept"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	im = buildOCI(t, root, other, "--no-cache")
	if got := im.Tree["/seen"].Content; got != "kept\n" {
		t.Errorf("free private cache: saw %q, want kept", got)
	}
}

func waitFor(t *testing.T, p string) {
	t.Helper()
	if !testutil.WaitForFile(p, 30*time.Second) {
		t.Fatalf("timed out waiting for %s", p)
	}
}

// TestRunMounts covers bind (context, stage, image), tmpfs and cache
// seeding, and checks that nothing a mount held or wrote stays behind.
func TestRunMounts(t *testing.T) {
	root := newRoot(t)
	cases := []runMountCase{
		{
			name: "context bind honours .dockerignore and stays read-only",
			files: map[string]string{
				"Dockerfile":    "FROM busybox\nRUN --mount=type=bind,target=/ctx ls -A /ctx > /ls && (touch /ctx/new 2>/dev/null && echo rw || echo ro) > /mode\n",
				".dockerignore": "secret.txt\n",
				"secret.txt":    "hidden",
				"a.txt":         "a",
			},
			tree: map[string]string{"/ls": ".dockerignore\nDockerfile\na.txt\n", "/mode": "ro\n"},
		},
		{
			name: "context bind without .dockerignore of a file source",
			files: map[string]string{
				"Dockerfile": "FROM busybox\nWORKDIR /w\nRUN --mount=type=bind,source=sub/f.txt,target=rel/f cat /w/rel/f > /got\n",
				"sub/f.txt":  "file",
			},
			tree: map[string]string{"/got": "file", "/w/rel": ""},
		},
		{
			name: "rw context bind: writes are discarded",
			files: map[string]string{
				"Dockerfile": "FROM busybox\nRUN --mount=type=bind,target=/ctx,rw echo changed > /ctx/a.txt && cat /ctx/a.txt > /got\nRUN --mount=type=bind,target=/ctx cat /ctx/a.txt > /after\n",
				"a.txt":      "orig\n",
			},
			tree: map[string]string{"/got": "changed\n", "/after": "orig\n"},
		},
		{
			name: "stage bind rw and a symlink source staying in the stage",
			files: map[string]string{"Dockerfile": `FROM busybox AS tools
RUN mkdir /t && echo tool > /t/tool && ln -s /etc /t/etclink
FROM busybox
RUN --mount=type=bind,from=tools,source=/t,target=/m,rw rm /m/tool && ls /m > /ls
RUN --mount=type=bind,from=tools,source=/t,target=/m cat /m/tool > /again
RUN --mount=type=bind,from=tools,source=t/etclink,target=/e head -1 /e/passwd > /passwd1
RUN --mount=type=bind,from=busybox,source=/etc/group,target=/g head -1 /g > /from-image
`},
			tree: map[string]string{"/ls": "etclink\n", "/again": "tool\n", "/passwd1": "root:x:0:0:root:/root:/bin/sh\n", "/from-image": "root:x:0:\n", "/m": "", "/e": "", "/g": ""},
		},
		{
			name: "tmpfs with size",
			files: map[string]string{"Dockerfile": `FROM busybox
RUN --mount=type=tmpfs,target=/scratch,size=1m df -k /scratch | tail -1 | awk '{print $2}' > /size && (dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>/dev/null && echo fit || echo full) > /fill
`},
			tree: map[string]string{"/size": "1024\n", "/fill": "full\n", "/scratch": ""},
		},
		{
			name: "cache seeded from a stage",
			files: map[string]string{"Dockerfile": `FROM busybox AS seed
RUN mkdir /s && echo seeded > /s/f
FROM busybox
RUN --mount=type=cache,id=seeded,from=seed,source=/s,target=/c cat /c/f > /got
`},
			tree: map[string]string{"/got": "seeded\n", "/c": ""},
		},
		{
			name: "secret and ssh mounts that were not provided are skipped",
			files: map[string]string{"Dockerfile": `FROM busybox
RUN --mount=type=ssh echo "$SSH_AUTH_SOCK" > /sock && (test -e /run/buildkit && echo yes || echo no) > /exists
`},
			tree: map[string]string{"/sock": "/run/buildkit/ssh_agent.0\n", "/exists": "no\n", "/run": ""},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkRunMountCase(t, root, tc) })
	}
	checkNoLeftovers(t, root)
}

// runMountCase is a build whose RUN mounts must leave tree in the image
// and the context as it was.
type runMountCase struct {
	name  string
	files map[string]string
	tree  map[string]string // path -> content ("" checks absence)
}

func checkRunMountCase(t *testing.T, root string, tc runMountCase) {
	t.Helper()
	ctx := writeTree(t, tc.files)
	before, _ := os.ReadDir(ctx)
	im := buildOCI(t, root, ctx)
	for p, want := range tc.tree {
		e, ok := im.Tree[p]
		if want == "" {
			if ok {
				t.Errorf("%s left in the image", p)
			}
			continue
		}
		if e.Content != want {
			t.Errorf("%s = %q, want %q", p, e.Content, want)
		}
	}
	after, _ := os.ReadDir(ctx)
	if len(after) != len(before) {
		t.Errorf("context changed: %d entries, was %d", len(after), len(before))
	}
	if b, _ := os.ReadFile(filepath.Join(ctx, "a.txt")); tc.files["a.txt"] != "" && string(b) != tc.files["a.txt"] {
		t.Errorf("context a.txt changed to %q", b)
	}
}

// checkNoLeftovers fails the test when builds under root left mounts or
// more than one entry in its tmp.
func checkNoLeftovers(t *testing.T, root string) {
	t.Helper()
	checkNoMounts(t, root)
	if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) > 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("scratch left in tmp: %v", names)
	}
}

// checkNoMounts fails the test when anything is still mounted under root.
func checkNoMounts(t *testing.T, root string) {
	t.Helper()
	if m, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(m), root) {
		t.Errorf("mounts left under the root:\n%s", m)
	}
}
