package solver

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/lade-build/lade/runner"
)

// countingExec records the most processes it ever ran at once.
type countingExec struct {
	mu        sync.Mutex
	cur, max  int
	processes int
}

func (c *countingExec) Run(ctx context.Context, spec *runner.Spec) (int, error) {
	c.mu.Lock()
	c.cur++
	c.processes++
	c.max = max(c.max, c.cur)
	c.mu.Unlock()
	// Give a concurrent step the chance to overlap; this only makes a
	// broken limit visible, nothing asserts on time.
	time.Sleep(20 * time.Millisecond)
	c.mu.Lock()
	c.cur--
	c.mu.Unlock()
	return 0, nil
}

func TestJobsLimitsConcurrentSteps(t *testing.T) {
	// Three independent stages feed the last one; with jobs=1 the final
	// stage waits on them without holding a slot, so this cannot deadlock.
	src := `FROM base AS a
RUN a1
RUN a2
FROM base AS b
RUN b1
FROM base AS c
RUN c1
FROM base
COPY --from=a /etc/passwd /a
COPY --from=b /etc/passwd /b
COPY --from=c /etc/passwd /c
RUN final
`
	tests := []struct {
		jobs, wantMax int
	}{
		{jobs: 1, wantMax: 1},
		{jobs: 2, wantMax: 2},
	}
	for _, tt := range tests {
		ex := &countingExec{}
		b, _ := newBuilder(t, ex)
		_, err := b.Build(context.Background(), Options{Dockerfile: parse(t, src), ContextDir: t.TempDir(), Jobs: tt.jobs})
		if err != nil {
			t.Fatalf("jobs=%d: %v", tt.jobs, err)
		}
		if ex.processes != 5 {
			t.Errorf("jobs=%d: ran %d processes, want 5", tt.jobs, ex.processes)
		}
		if ex.max > tt.wantMax {
			t.Errorf("jobs=%d: %d processes ran at once", tt.jobs, ex.max)
		}
	}
}

func TestUnusedStageImageIsNeverResolved(t *testing.T) {
	tests := []struct{ name, src, target string }{
		{"unused stage", "FROM missing AS unused\nRUN never\nFROM base\nRUN used\n", ""},
		{"stage after the target", "FROM base AS app\nRUN used\nFROM missing\nRUN never\n", "app"},
		{"unused copy source", "FROM missing AS tools\nFROM base AS other\nCOPY --from=tools /x /x\nFROM base\nRUN used\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := newFakeExec(0)
			b, imgs := newBuilder(t, ex)
			_, err := b.Build(context.Background(), Options{Dockerfile: parse(t, tt.src), ContextDir: t.TempDir(), Target: tt.target})
			if err != nil {
				t.Fatal(err)
			}
			if n := imgs.n["missing"]; n != 0 {
				t.Errorf("the unused stage's image was resolved %d times", n)
			}
			if len(ex.ran) != 1 || ex.ran[0] != "used" {
				t.Errorf("ran %v, want only the used step", ex.ran)
			}
		})
	}
}

// warmingExec is an executor that can start a process ahead of need.
type warmingExec struct {
	countingExec
	warmed int
}

func (w *warmingExec) Warm() { w.warmed++ }

func TestWarmOnlyWhenTheTargetNeedsARun(t *testing.T) {
	tests := []struct {
		name, src, target string
		jobs, want        int
	}{
		{name: "run in the target", src: "FROM base\nRUN x\n", want: 1},
		{name: "run in a stage it copies from", src: "FROM base AS a\nRUN x\nFROM base\nCOPY --from=a /etc/passwd /p\n", want: 1},
		{name: "run in its base stage, with --jobs", src: "FROM base AS a\nRUN x\nFROM a\nENV A=1\n", jobs: 2, want: 1},
		{name: "run only in an unused stage", src: "FROM base AS unused\nRUN x\nFROM base\nENV A=1\n", want: 0},
		{name: "run only after the target", src: "FROM base AS app\nENV A=1\nFROM base\nRUN x\n", target: "app", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := &warmingExec{}
			b, _ := newBuilder(t, ex)
			_, err := b.Build(context.Background(), Options{Dockerfile: parse(t, tt.src), ContextDir: t.TempDir(), Target: tt.target, Jobs: tt.jobs})
			if err != nil {
				t.Fatal(err)
			}
			if ex.warmed != tt.want {
				t.Errorf("Warm called %d times, want %d", ex.warmed, tt.want)
			}
		})
	}
}

// TestStageOrder: a step that reads another stage, whichever way it names
// it, runs after that stage's steps; every needed step runs once.
func TestStageOrder(t *testing.T) {
	tests := []struct {
		name, src string
		before    [][2]string // {a, b}: a ran before b
	}{
		{"copy from", "FROM base AS a\nRUN a1\nRUN a2\nFROM base\nRUN b1\nCOPY --from=a /etc/passwd /p\nRUN b2\n",
			[][2]string{{"a1", "a2"}, {"a2", "b2"}, {"b1", "b2"}}},
		{"mount from", "FROM base AS a\nRUN a1\nFROM base\nRUN --mount=type=bind,from=a,target=/m b1\n",
			[][2]string{{"a1", "b1"}}},
		{"built on a stage", "FROM base AS a\nRUN a1\nFROM a\nRUN b1\n",
			[][2]string{{"a1", "b1"}}},
		{"chain through an index", "FROM base AS a\nRUN a1\nFROM base AS b\nCOPY --from=0 /etc/passwd /p\nRUN b1\nFROM base\nRUN --mount=from=1,target=/m c1\n",
			[][2]string{{"a1", "b1"}, {"b1", "c1"}}},
		{"stage named by an ARG", "ARG S=a\nFROM base AS a\nRUN a1\nFROM base\nCOPY --from=$S /etc/passwd /p\nRUN b1\n",
			[][2]string{{"a1", "b1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := newFakeExec(0)
			b, _ := newBuilder(t, ex)
			if _, err := b.Build(context.Background(), Options{Dockerfile: parse(t, tt.src), ContextDir: t.TempDir()}); err != nil {
				t.Fatal(err)
			}
			ran := ex.commands()
			at := map[string]int{}
			for i, c := range ran {
				if _, dup := at[c]; dup {
					t.Errorf("%s ran twice", c)
				}
				at[c] = i
			}
			for _, p := range tt.before {
				i, ok1 := at[p[0]]
				j, ok2 := at[p[1]]
				if !ok1 || !ok2 || i > j {
					t.Errorf("ran %q, want %s before %s", ran, p[0], p[1])
				}
			}
		})
	}
}
