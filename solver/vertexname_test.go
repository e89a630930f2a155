package solver

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/progress"
)

// vertexNames reads the step names a build printed, in plain or rawjson
// mode, leaving out lade's own "[internal] unpack" steps.
func vertexNames(t *testing.T, mode string, out []byte) []string {
	t.Helper()
	var names []string
	add := func(n string) {
		if !strings.HasPrefix(n, "[internal] unpack ") {
			names = append(names, n)
		}
	}
	switch mode {
	case progress.ModePlain:
		seen := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^#(\d+) (\[.*|exporting.*)$`).FindAllStringSubmatch(string(out), -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				add(m[2])
			}
		}
	case progress.ModeRawJSON:
		for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
			var st progress.SolveStatus
			if err := json.Unmarshal(line, &st); err != nil {
				t.Fatalf("record %q: %v", line, err)
			}
			for _, v := range st.Vertexes {
				if v.Started != nil && v.Completed == nil {
					add(v.Name)
				}
			}
		}
	}
	sort.Strings(names) // stages run in parallel: compare as sets
	return names
}

// TestVertexNamesAsBuildKit: only steps that make a vertex are numbered
// (FROM of an image, RUN, COPY, ADD, WORKDIR but not WORKDIR /), stages
// built on a stage have no FROM, a single stage has no name, numbers are
// padded to the width of the total, an image shared by stages shows one
// FROM, and RUN names show expanded variables with secrets masked.
func TestVertexNamesAsBuildKit(t *testing.T) {
	d, err := testutil.BusyboxImage(t).Digest()
	if err != nil {
		t.Fatal(err)
	}
	from := "FROM docker.io/library/base:latest@" + d.String()
	internal := []string{"[internal] load .dockerignore", "[internal] load build definition from Dockerfile", "[internal] load metadata for docker.io/library/base:latest"}
	tens := "FROM base\nRUN r0\nRUN r1\nRUN r2\nRUN r3\nRUN r4\nRUN r5\nRUN r6\nRUN r7\nRUN r8\nRUN r9\n"
	tests := []struct {
		name, src string
		want      []string
		root      bool // WORKDIR and COPY --chown create files owned by others
	}{
		{"single stage", `FROM base
ARG V=1
ENV E=x
LABEL a=b
RUN echo "$V" '$E' $E $NOPE
WORKDIR /
WORKDIR /w
COPY --chown=1:1 f.txt .
USER 1
RUN --mount=type=secret,id=tok,env=TOKEN echo $TOKEN
`, []string{
			"[1/6] " + from,
			`[2/6] RUN echo "1" '$E' x $NOPE`,
			"[3/6] WORKDIR /w",
			"[4/6] COPY --chown=1:1 f.txt .",
			"[5/6] RUN --mount=type=secret,id=tok,env=TOKEN echo ****",
		}, true},
		{"stages", `FROM base AS a
ARG V=2
RUN one
FROM a AS b
ENV X=1
RUN two $X $V
FROM scratch
COPY --from=b /etc/passwd /p
FROM base
COPY --from=2 /p /p
`, []string{
			"[a 1/2] " + from,
			"[a 2/2] RUN one",
			"[b 1/1] RUN two 1 2",
			"[stage-2 1/1] COPY --from=b /etc/passwd /p",
			"[stage-3 2/2] COPY --from=2 /p /p",
		}, false},
		{"padding", tens, []string{
			"[ 1/11] " + from, "[ 2/11] RUN r0", "[ 3/11] RUN r1", "[ 4/11] RUN r2", "[ 5/11] RUN r3", "[ 6/11] RUN r4",
			"[ 7/11] RUN r5", "[ 8/11] RUN r6", "[ 9/11] RUN r7", "[10/11] RUN r8", "[11/11] RUN r9",
		}, false},
	}
	for _, mode := range []string{progress.ModePlain, progress.ModeRawJSON} {
		for _, tt := range tests {
			t.Run(mode+"/"+tt.name, func(t *testing.T) {
				if tt.root {
					testutil.RequireRoot(t)
				}
				b, _ := newBuilder(t, newFakeExec(0))
				ctxDir := testutil.WriteTree(t, t.TempDir(), map[string]string{"f.txt": "f"})
				var out bytes.Buffer
				prog, err := progress.New(&out, mode)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := b.Build(context.Background(), Options{Dockerfile: parse(t, tt.src), ContextDir: ctxDir, Progress: prog}); err != nil {
					t.Fatal(err)
				}
				prog.Close()
				want := append(append([]string(nil), internal...), tt.want...)
				sort.Strings(want)
				got := vertexNames(t, mode, out.Bytes())
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("vertices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			})
		}
	}
}
