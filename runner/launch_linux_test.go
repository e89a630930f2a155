package runner

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

// Run takes the init Launch started when its spec starts the same way,
// and starts its own otherwise; the launched init sees the rootfs made
// after it started.
func TestLaunchThenRun(t *testing.T) {
	testutil.RequireRoot(t)
	for _, tc := range []struct {
		name     string
		otherOut bool // Run's spec has another stdout than Launch's
		wantSame bool
	}{
		{"same start", false, true},
		{"other stdout", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			r := New()
			defer r.Close()
			early := &Spec{Stdout: &out, Stderr: &errOut}
			if err := r.Launch(early); err != nil {
				t.Fatal(err)
			}
			launchedPid := r.launched.p.cmd.Process.Pid
			spec := baseSpec(newRootfs(t), "sh", "-c", "echo hi; "+openNode)
			spec.Stdout, spec.Stderr = &out, &errOut
			if tc.otherOut {
				spec.Stdout = &bytes.Buffer{}
			}
			var started int
			spec.Started = func(pid int) error { started = pid; return nil }
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			code, err := r.Run(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := started == launchedPid; got != tc.wantSame {
				t.Errorf("ran in the launched init: %v, want %v", got, tc.wantSame)
			}
			if code == 0 || !strings.Contains(errOut.String(), "Operation not permitted") {
				t.Errorf("device rules not enforced: exit %d, stderr %q", code, errOut.String())
			}
			if !tc.otherOut && out.String() != "hi\n" {
				t.Errorf("stdout %q, want hi", out.String())
			}
		})
	}
}
