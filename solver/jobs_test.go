package solver

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lade-build/lade/runner"
)

// gateExec holds each process until at least want processes run at
// once (or every process has started), so the most that ran together is
// decided by the solver's limit, not by timing. A process still alone
// after a bound fails the step.
type gateExec struct {
	want, total int

	mu                sync.Mutex
	cond              *sync.Cond
	cur, max, started int
}

func newGateExec(want, total int) *gateExec {
	g := &gateExec{want: want, total: total}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *gateExec) Run(ctx context.Context, spec *runner.Spec) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cur++
	g.started++
	g.max = max(g.max, g.cur)
	g.cond.Broadcast()
	wake := time.AfterFunc(10*time.Second, func() { g.mu.Lock(); g.cond.Broadcast(); g.mu.Unlock() })
	defer wake.Stop()
	start := time.Now()
	for g.cur < g.want && g.started < g.total {
		if time.Since(start) > 9*time.Second || ctx.Err() != nil {
			g.cur--
			return 1, nil // the others never ran alongside
		}
		g.cond.Wait()
	}
	g.cur--
	g.cond.Broadcast()
	return 0, nil
}

// TestDefaultJobsRunsIndependentStagesAtOnce: with no --jobs, the RUN
// steps of 16 independent stages all run at once (BuildKit has no default
// cap; a cap made 16 `RUN sleep 1` stages take 8 s on 2 CPUs); Jobs still
// caps them when given.
func TestDefaultJobsRunsIndependentStagesAtOnce(t *testing.T) {
	const n = 16
	var src strings.Builder
	for i := range n {
		fmt.Fprintf(&src, "FROM base AS s%d\nRUN step%d\n", i, i)
	}
	src.WriteString("FROM base\n")
	for i := range n {
		fmt.Fprintf(&src, "COPY --from=s%d /etc/passwd /p%d\n", i, i)
	}
	tests := []struct {
		name          string
		jobs, wantMax int
	}{
		{"default: no cap", 0, n},
		{"jobs=2 caps", 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := newGateExec(tt.wantMax, n)
			b, _ := newBuilder(t, ex)
			_, err := b.Build(context.Background(), Options{Dockerfile: parse(t, src.String()), ContextDir: t.TempDir(), Jobs: tt.jobs})
			if err != nil {
				t.Fatalf("jobs=%d: %v", tt.jobs, err)
			}
			if ex.started != n {
				t.Errorf("jobs=%d: ran %d processes, want %d", tt.jobs, ex.started, n)
			}
			if ex.max != tt.wantMax {
				t.Errorf("jobs=%d: at most %d processes ran at once, want %d", tt.jobs, ex.max, tt.wantMax)
			}
		})
	}
}
