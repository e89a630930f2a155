package solver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/parser"
	"github.com/lade-build/lade/progress"
	"github.com/lade-build/lade/runner"
	"github.com/lade-build/lade/snapshot"
)

// fakeImages serves one image for every reference and counts resolutions.
type fakeImages struct {
	img v1.Image
	mu  sync.Mutex
	n   map[string]int
}

func (f *fakeImages) Resolve(_ context.Context, ref string, _ v1.Platform) (v1.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n[ref]++
	if ref == "missing" {
		return nil, fmt.Errorf("no such image")
	}
	return f.img, nil
}

// fakeExec records commands instead of running them. A command "meet:X"
// blocks until every command named in meetWant has arrived, which only
// happens when stages run concurrently.
type fakeExec struct {
	mu       sync.Mutex
	ran      []string
	arrived  map[string]bool
	meetWant int
	cond     *sync.Cond
}

func newFakeExec(meet int) *fakeExec {
	f := &fakeExec{arrived: map[string]bool{}, meetWant: meet}
	f.cond = sync.NewCond(&f.mu)
	return f
}

func (f *fakeExec) Run(ctx context.Context, spec *runner.Spec) (int, error) {
	cmd := spec.Args[len(spec.Args)-1]
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ran = append(f.ran, cmd)
	if strings.HasPrefix(cmd, "meet:") {
		f.arrived[cmd] = true
		f.cond.Broadcast()
		deadline := time.AfterFunc(20*time.Second, func() { f.mu.Lock(); f.cond.Broadcast(); f.mu.Unlock() })
		defer deadline.Stop()
		start := time.Now()
		for len(f.arrived) < f.meetWant {
			if time.Since(start) > 19*time.Second || ctx.Err() != nil {
				return 1, nil // the other stage never ran alongside
			}
			f.cond.Wait()
		}
	}
	if strings.HasPrefix(cmd, "fail") {
		return 3, nil
	}
	return 0, nil
}

func newBuilder(t *testing.T, ex Executor) (*Builder, *fakeImages) {
	t.Helper()
	testutil.RequireRoot(t)
	dir := t.TempDir()
	snaps, err := snapshot.New(filepath.Join(dir, "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	content, err := cache.Open(filepath.Join(dir, "content"))
	if err != nil {
		t.Fatal(err)
	}
	imgs := &fakeImages{img: testutil.BusyboxImage(t), n: map[string]int{}}
	return &Builder{Snapshots: snaps, Content: content, Images: imgs, Exec: ex, TmpDir: filepath.Join(dir, "tmp")}, imgs
}

func parse(t *testing.T, src string) *parser.Dockerfile {
	t.Helper()
	df, err := parser.Parse(strings.NewReader(src), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	return df
}

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
