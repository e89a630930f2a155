package solver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

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
		{name: "copied file's content", change: func(t *testing.T, o *Options) { writeFile(t, o.ContextDir, "f.txt", "new") },
			want: []string{"after-copy", "last"}},
		{name: "copied file touched, same content", change: func(t *testing.T, o *Options) {
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(filepath.Join(o.ContextDir, "f.txt"), later, later); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "context file nothing reads", change: func(t *testing.T, o *Options) { writeFile(t, o.ContextDir, "other.txt", "x") }},
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
			o := Options{Dockerfile: parse(t, src), ContextDir: t.TempDir()}
			writeFile(t, o.ContextDir, "f.txt", "old")
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

func writeFile(t *testing.T, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
