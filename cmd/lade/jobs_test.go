package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildRunsIndependentStagesAtOnceByDefault: with default flags the
// RUN steps of 16 independent stages run together. Each step marks a
// shared cache mount and waits, bounded, until all 16 marks are there; a
// default cap below 16 (the CPU count, before) leaves them waiting until
// the bound and fails the build.
func TestBuildRunsIndependentStagesAtOnceByDefault(t *testing.T) {
	const n = 16
	var df strings.Builder
	for i := range n {
		fmt.Fprintf(&df, "FROM busybox AS s%d\n", i)
		fmt.Fprintf(&df, "RUN --mount=type=cache,id=meet,target=/m,sharing=shared touch /m/%d; "+
			"i=0; while [ $(ls /m | wc -l) -lt %d ]; do i=$((i+1)); [ $i -gt 300 ] && exit 7; sleep 0.05; done; echo %d > /done\n", i, n, i)
	}
	df.WriteString("FROM busybox\n")
	for i := range n {
		fmt.Fprintf(&df, "COPY --from=s%d /done /d%d\n", i, i)
	}
	root := newRoot(t)
	dir := writeTree(t, map[string]string{"Dockerfile": df.String()})
	r := lade(t, root, "", "build", "--progress", "plain", "--output", "type=oci,dest="+filepath.Join(t.TempDir(), "x.tar"), dir)
	if r.code != 0 {
		t.Fatalf("build failed (exit %d): the stages did not run at once:\n%s", r.code, r.stderr)
	}
}
