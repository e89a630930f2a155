package main

import (
	"strings"
	"testing"
)

// TestDockerFormats drives inspect, ps, images, history, volume ls and
// network ls as docker users' scripts do: docker's field names, --format
// templates, --type and filters.
func TestDockerFormats(t *testing.T) {
	root := newRoot(t)
	id := runDetached(t, root, "--name", "fmt-web", "--network", "none", "-l", "tier=front",
		"--health-cmd", "true", "--health-interval", "100ms", "busybox", "sleep", "300")
	if r := lade(t, root, "", "run", "--name", "fmt-job", "--network", "none", "busybox", "sh", "-c", "exit 3"); r.code != 3 {
		t.Fatalf("run fmt-job: %+v", r)
	}
	t.Cleanup(func() { lade(t, root, "", "rm", "-f", "fmt-job") })
	if r := lade(t, root, "", "volume", "create", "fmt-vol"); r.code != 0 {
		t.Fatalf("volume create: %+v", r)
	}
	tests := []struct {
		args     []string
		code     int
		stdout   string // wanted exactly, after trimming
		inStderr string
	}{
		{args: []string{"inspect", "-f", "{{.State.Status}} {{.Config.Image}} {{.Name}}", "fmt-web"}, stdout: "running busybox /fmt-web"},
		{args: []string{"inspect", "-f", "{{.Id}}", id[:12]}, stdout: id},
		{args: []string{"container", "inspect", "--format", "{{.State.ExitCode}} {{.State.Running}}", "fmt-job"}, stdout: "3 false"},
		{args: []string{"inspect", "--type", "image", "-f", "{{.Os}} {{index .RepoTags 0}}", "busybox"}, stdout: "linux busybox:latest"},
		{args: []string{"image", "inspect", "-f", "{{json .Config.Cmd}}", "busybox"}, stdout: `["/bin/sh"]`},
		{args: []string{"inspect", "-f", "{{.Name}} {{.Driver}}", "fmt-vol"}, stdout: "fmt-vol local"},
		{args: []string{"volume", "inspect", "-f", "{{.Mountpoint}}", "fmt-vol"}, stdout: root + "/volumes/fmt-vol/_data"},
		{args: []string{"network", "inspect", "-f", "{{.Name}} {{.Driver}}", "bridge"}, stdout: "bridge bridge"},
		{args: []string{"inspect", "--type", "container", "busybox"}, code: 1, stdout: "[]", inStderr: "Error: No such container: busybox"},
		{args: []string{"inspect", "nothing-here"}, code: 1, stdout: "[]", inStderr: "Error: No such object: nothing-here"},
		{args: []string{"inspect", "--type", "thing", "busybox"}, code: 125, inStderr: `"thing" is not a valid value for --type`},
		{args: []string{"ps", "--format", "{{.Names}} {{.State}} {{.Labels}}"}, stdout: "fmt-web running tier=front"},
		{args: []string{"ps", "-a", "--filter", "exited=3", "--format", "{{.Names}}"}, stdout: "fmt-job"},
		{args: []string{"ps", "--filter", "status=exited", "-q", "--no-trunc"}, stdout: strings.TrimSpace(lade(t, root, "", "inspect", "-f", "{{.Id}}", "fmt-job").stdout)},
		{args: []string{"ps", "-a", "--filter", "label=tier=front", "--filter", "name=web", "--format", "{{.Names}}"}, stdout: "fmt-web"},
		{args: []string{"ps", "-l", "--format", "{{.Names}}"}, stdout: "fmt-job"},
		{args: []string{"ps", "--filter", "nope=1"}, code: 125, inStderr: "invalid filter 'nope'"},
		{args: []string{"images", "--format", "{{.Repository}}:{{.Tag}}", "busybox"}, stdout: "busybox:latest"},
		{args: []string{"images", "--filter", "label=nope", "-q"}, stdout: ""},
		{args: []string{"history", "--format", "{{.Comment}}|{{.Size}}", "-H=false", "busybox"}},
		{args: []string{"volume", "ls", "--filter", "name=fmt-", "--format", "{{.Name}} {{.Driver}} {{.Scope}}"}, stdout: "fmt-vol local local"},
		{args: []string{"network", "ls", "--filter", "name=bridge", "--format", "{{.Name}} {{.Scope}}"}, stdout: "bridge local"},
		{args: []string{"system", "df", "--format", "{{.Type}}"}, stdout: "Images\nContainers\nLocal Volumes\nBuild Cache"},
	}
	for _, tc := range tests {
		r := lade(t, root, "", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.inStderr) || tc.stdout != "" && strings.TrimSpace(r.stdout) != tc.stdout {
			t.Errorf("lade %q = %d, %q, %q; want %d, %q, stderr with %q", tc.args, r.code, r.stdout, r.stderr, tc.code, tc.stdout, tc.inStderr)
		}
	}
}
