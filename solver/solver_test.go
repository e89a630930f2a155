package solver

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/progress"
	"github.com/lade-build/lade/runner"
	"github.com/lade-build/lade/snapshot"
)

func TestStagesRunInParallelAndUnusedNever(t *testing.T) {
	ex := newFakeExec(2)
	b, imgs := newBuilder(t, ex)
	df := parse(t, `FROM base AS a
RUN meet:a
FROM base AS b
RUN meet:b
FROM base AS unused
RUN must-not-run
FROM a
COPY --from=b /etc/passwd /from-b
`)
	prog := progress.NewPlain(nil)
	if _, err := b.Build(context.Background(), Options{Dockerfile: df, ContextDir: t.TempDir(), Progress: prog}); err != nil {
		t.Fatal(err)
	}
	for _, c := range ex.ran {
		if c == "must-not-run" {
			t.Error("the unused stage ran")
		}
	}
	if len(ex.ran) != 2 {
		t.Errorf("ran %v, want the two meet steps once each", ex.ran)
	}
	if imgs.n["base"] != 1 {
		t.Errorf("base resolved %d times, want once per build", imgs.n["base"])
	}
}

func TestFailingStepStopsTheBuild(t *testing.T) {
	ex := newFakeExec(0)
	b, _ := newBuilder(t, ex)
	df := parse(t, "FROM base\nRUN ok-1\nRUN fail-here\nRUN never\n")
	_, err := b.Build(context.Background(), Options{Dockerfile: df, ContextDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "Dockerfile:3: RUN failed") || !strings.Contains(err.Error(), "exit code: 3") {
		t.Fatalf("err = %v", err)
	}
	for _, c := range ex.ran {
		if c == "never" {
			t.Error("a step after the failure ran")
		}
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct{ name, src, target, want string }{
		{"missing base", "FROM missing\n", "", "Dockerfile:1: resolving image missing"},
		{"unknown target", "FROM base\n", "nope", `target stage "nope" could not be found`},
		{"duplicate stage", "FROM base AS x\nFROM base AS x\n", "", `duplicate stage name "x"`},
		{"copy from a later stage", "FROM base AS a\nCOPY --from=b /x /y\nFROM base AS b\n", "a", "needs to be defined before"},
		{"empty base", "ARG B\nFROM ${B}\n", "", "base name (${B}) should not be blank"},
		{"bad stopsignal", "FROM base\nSTOPSIGNAL SIGNOPE\n", "", "Dockerfile:2: STOPSIGNAL failed: invalid signal"},
		{"insecure refused", "FROM base\nRUN --security=insecure true\n", "", "security.insecure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := newBuilder(t, newFakeExec(0))
			_, err := b.Build(context.Background(), Options{Dockerfile: parse(t, tt.src), ContextDir: t.TempDir(), Target: tt.target})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestMain(m *testing.M) {
	if runner.Reexec() {
		return
	}
	os.Exit(m.Run())
}

// TestOverlaySnapshots runs steps on real overlay mounts: what a step
// writes reaches its layer and a later stage reads it from there.
func TestOverlaySnapshots(t *testing.T) {
	testutil.RequireRoot(t)
	b, _ := newBuilder(t, newFakeExec(0))
	snaps, err := snapshot.New(filepath.Join(t.TempDir(), "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	b.Snapshots = OverlaySnapshots(snaps)
	df := parse(t, "FROM base AS a\nRUN write:made\nFROM base\nCOPY --from=a /made /copied\n")
	res, err := b.Build(context.Background(), Options{Dockerfile: df, ContextDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	layers, err := res.Image.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layers[len(layers)-1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no /copied in the COPY layer: %v", err)
		}
		if hdr.Name == "copied" {
			data, _ := io.ReadAll(tr)
			if string(data) != "made" {
				t.Errorf("/copied holds %q", data)
			}
			return
		}
	}
}

// TestBuildLabels: --label values reach the image whether or not the
// Dockerfile set labels of its own.
func TestBuildLabels(t *testing.T) {
	tests := []struct {
		name, src string
		want      map[string]string
	}{
		{"image without labels", "FROM base\n", map[string]string{"a": "b"}},
		{"dockerfile labels", "FROM base\nLABEL x=y a=old\n", map[string]string{"a": "b", "x": "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := newBuilder(t, newFakeExec(0))
			res, err := b.Build(context.Background(), Options{Dockerfile: parse(t, tt.src), ContextDir: t.TempDir(), Labels: map[string]string{"a": "b"}})
			if err != nil {
				t.Fatal(err)
			}
			cf, err := res.Image.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, cf.Config.Labels); d != "" {
				t.Errorf("labels (-want +got):\n%s", d)
			}
		})
	}
}

// TestCacheKeys builds a Dockerfile, changes one input, builds again and
// checks which steps ran the second time: the same inputs hit the cache
// throughout, a changed input misses from its step on, and a changed
// stage misses exactly where its content is read.
func TestCacheKeys(t *testing.T) {
	// --chown to the caller: the test runs as any user.
	src := fmt.Sprintf(`FROM base AS dep
RUN write:dep
FROM base
ARG V=1
ENV E=1
RUN first $V
COPY --chown=%d:%d f.txt /f
RUN after-copy
COPY --from=dep /etc/passwd /p
RUN --mount=type=bind,from=dep,target=/mnt last
LABEL l=1
`, os.Getuid(), os.Getgid())
	tests := []struct {
		name   string
		change func(t *testing.T, o *Options) // before the second build
		edit   [2]string                      // replace edit[0] by edit[1] in the Dockerfile
		want   []string                       // what the second build runs
	}{
		{name: "same inputs"},
		{name: "build arg a step uses", change: func(_ *testing.T, o *Options) { o.BuildArgs = map[string]string{"V": "2"} },
			want: []string{"first $V", "after-copy", "last"}},
		{name: "build arg nothing declares", change: func(_ *testing.T, o *Options) { o.BuildArgs = map[string]string{"OTHER": "x"} }},
		{name: "env before a step", edit: [2]string{"ENV E=1", "ENV E=2"},
			want: []string{"first $V", "after-copy", "last"}},
		{name: "label after the steps", edit: [2]string{"LABEL l=1", "LABEL l=2"}},
		{name: "copied file's content", change: func(t *testing.T, o *Options) { testutil.WriteTree(t, o.ContextDir, map[string]string{"f.txt": "new"}) },
			want: []string{"after-copy", "last"}},
		{name: "copied file touched, same content", change: func(t *testing.T, o *Options) {
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(filepath.Join(o.ContextDir, "f.txt"), later, later); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "context file nothing reads", change: func(t *testing.T, o *Options) {
			testutil.WriteTree(t, o.ContextDir, map[string]string{"other.txt": "x"})
		}},
		{name: "stage another copies from", edit: [2]string{"RUN write:dep", "RUN write:dep2"},
			want: []string{"write:dep2", "last"}},
		{name: "no-cache-filter on a stage with the same output", change: func(_ *testing.T, o *Options) { o.NoCacheFilter = []string{"dep"} },
			want: []string{"write:dep"}},
		{name: "no-cache", change: func(_ *testing.T, o *Options) { o.NoCache = true },
			want: []string{"write:dep", "first $V", "after-copy", "last"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := newFakeExec(0)
			b, _ := newBuilder(t, ex)
			o := Options{Dockerfile: parse(t, src), ContextDir: testutil.WriteTree(t, t.TempDir(), map[string]string{"f.txt": "old"})}
			if _, err := b.Build(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			ran := ex.commands()
			if len(ran) != 4 {
				t.Fatalf("first build ran %q, want 4 steps", ran)
			}
			if tt.change != nil {
				tt.change(t, &o)
			}
			if tt.edit[0] != "" {
				o.Dockerfile = parse(t, strings.Replace(src, tt.edit[0], tt.edit[1], 1))
			}
			if _, err := b.Build(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, sortedByStage(ex.commands())); d != "" {
				t.Errorf("second build ran (-want +got):\n%s", d)
			}
		})
	}
}

// sortedByStage puts the dep stage's steps first: stages run in parallel.
func sortedByStage(ran []string) []string {
	var out, rest []string
	for _, c := range ran {
		if strings.HasPrefix(c, "write:dep") {
			out = append(out, c)
		} else {
			rest = append(rest, c)
		}
	}
	return append(out, rest...)
}
