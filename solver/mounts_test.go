package solver

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// TestMountTargets: where each --mount type lands with WORKDIR /src.
// Every type's target is absolute as written or relative to the workdir,
// as in BuildKit (docker 20.10's mounts a secret with target=etc/tok
// under WORKDIR /src at /src/etc/tok); secret and ssh have defaults.
func TestMountTargets(t *testing.T) {
	tests := []struct {
		name, mount, wd string
		want            string
		wantID          string
	}{
		{"cache absolute", "type=cache,target=/root/.cache/go-build", "/src", "/root/.cache/go-build", "/root/.cache/go-build"},
		{"cache relative", "type=cache,target=node_modules", "/src", "/src/node_modules", "node_modules"},
		{"cache relative dot", "type=cache,target=./a/../b", "/src", "/src/b", "b"},
		{"cache absolute unclean", "type=cache,target=/go//pkg/mod/", "/src", "/go/pkg/mod", "/go/pkg/mod"},
		{"cache root workdir", "type=cache,target=c", "", "/c", "c"},
		{"bind absolute", "type=bind,target=/mnt/ctx", "/src", "/mnt/ctx", ""},
		{"bind relative", "type=bind,target=ctx", "/src", "/src/ctx", ""},
		{"tmpfs absolute", "type=tmpfs,target=/tmp/t", "/src", "/tmp/t", ""},
		{"tmpfs relative", "type=tmpfs,target=t", "/src/app", "/src/app/t", ""},
		{"secret default", "type=secret,id=tok", "/src", "/run/secrets/tok", "tok"},
		{"secret absolute", "type=secret,id=tok,target=/etc/tok", "/src", "/etc/tok", "tok"},
		{"secret relative", "type=secret,id=tok,target=etc/tok", "/src", "/src/etc/tok", "tok"},
		{"ssh default", "type=ssh", "/src", "/run/buildkit/ssh_agent.0", "default"},
		{"ssh absolute", "type=ssh,target=/run/agent.sock", "/src", "/run/agent.sock", "default"},
		{"ssh relative", "type=ssh,target=agent.sock", "/src", "/src/agent.sock", "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			df := parse(t, "FROM base\nRUN --mount="+tt.mount+" true\n")
			rc := df.Stages[0].Commands[0].(*instructions.RunCommand)
			if err := rc.Expand(func(w string) (string, error) { return w, nil }); err != nil {
				t.Fatal(err)
			}
			sc := &stageCtx{
				bd: &build{o: Options{Secrets: map[string][]byte{}, SSH: map[string]SSHSource{}}},
				st: &stageState{},
			}
			sc.st.img.Config.WorkingDir = tt.wd
			plan, err := sc.planMounts(rc)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan) != 1 {
				t.Fatalf("planned %d mounts, want 1", len(plan))
			}
			if plan[0].target != tt.want {
				t.Errorf("target = %q, want %q", plan[0].target, tt.want)
			}
			if plan[0].id != tt.wantID {
				t.Errorf("id = %q, want %q", plan[0].id, tt.wantID)
			}
		})
	}
}

// TestMountTargetRootIsRefused: a target that resolves to / is an error
// whichever way it is written.
func TestMountTargetRootIsRefused(t *testing.T) {
	for _, target := range []string{"/", "/src/..", "."} {
		df := parse(t, "FROM base\nRUN --mount=type=cache,target="+target+" true\n")
		rc := df.Stages[0].Commands[0].(*instructions.RunCommand)
		sc := &stageCtx{bd: &build{}, st: &stageState{}}
		if _, err := sc.planMounts(rc); err == nil || !strings.Contains(err.Error(), "invalid mount target") {
			t.Errorf("target %q: err = %v, want invalid mount target", target, err)
		}
	}
}
