package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestVersion(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct {
		args []string
		want *regexp.Regexp
	}{
		{[]string{"--version"}, regexp.MustCompile(`^lade version \S+, build \S+\n$`)},
		{[]string{"-v"}, regexp.MustCompile(`^lade version \S+, build \S+\n$`)},
		{[]string{"version", "--format", "{{.Client.APIVersion}} {{.Server.APIVersion}} {{.Server.MinAPIVersion}}"}, regexp.MustCompile(`^1\.57 1\.57 1\.41\n$`)},
		{[]string{"version", "-f", "{{.Server.Components | len}} {{(index .Server.Components 0).Name}}"}, regexp.MustCompile(`^1 Engine\n$`)},
		{[]string{"version"}, regexp.MustCompile(`(?s)^Client:\n Version: .*\n API version: +1\.57\n.*\nServer: lade.*\n Engine:\n.*API version: +1\.57 \(minimum version 1\.41\)`)},
	} {
		r := lade(t, root, "", tc.args...)
		if r.code != 0 || !tc.want.MatchString(r.stdout) {
			t.Errorf("lade %v: code %d, out %q, err %s; want %s", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	r := lade(t, root, "", "version", "--format", "json")
	var v struct{ Client, Server map[string]any }
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Client["ApiVersion"] != "1.57" || v.Server["MinAPIVersion"] != "1.41" {
		t.Errorf("version --format json: %v %q", err, r.stdout)
	}
	if r := lade(t, root, "", "version", "--format", "{{.Nope"); r.code != 125 {
		t.Errorf("bad template: code %d, want 125", r.code)
	}
}

func TestInfo(t *testing.T) {
	root := t.TempDir()
	r := lade(t, root, "", "info", "--format", "{{.Containers}} {{.ContainersRunning}} {{.Images}} {{.DockerRootDir}} {{.OSType}} {{.CgroupDriver}} {{.ClientInfo.Context}}")
	if want := "0 0 0 " + root + " linux cgroupfs default\n"; r.code != 0 || r.stdout != want {
		t.Fatalf("info --format: code %d, out %q, want %q, err %s", r.code, r.stdout, want, r.stderr)
	}
	r = lade(t, root, "", "info", "--format", "json")
	var info map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
		t.Fatalf("info --format json: %v %q", err, r.stdout)
	}
	for _, k := range []string{"Driver", "CgroupVersion", "KernelVersion", "NCPU", "MemTotal", "SecurityOptions", "ServerVersion"} {
		if v, ok := info[k]; !ok || v == "" || v == float64(0) {
			t.Errorf("info %s = %v", k, v)
		}
	}
	r = lade(t, root, "", "info")
	for _, want := range []string{"\nServer:\n Containers: 0\n  Running: 0\n  Paused: 0\n  Stopped: 0\n Images: 0\n", "Storage Driver: overlayfs", "  seccomp\n   Profile: builtin\n", "Docker Root Dir: " + root + "\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("info lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestNamespaces checks docker's management commands: each member is its
// top-level command under docker's name, members whose command lade
// lacks are absent, and a command added later joins by itself.
func TestNamespaces(t *testing.T) {
	tree := testTree()
	for ns, members := range namespaces {
		parent := subcommand(tree, ns)
		if parent == nil {
			t.Errorf("no %s namespace", ns)
			continue
		}
		for _, m := range members {
			c, top := subcommand(parent, m.name), subcommand(tree, m.top)
			if m.top != "" && (c == nil) != (top == nil) {
				t.Errorf("%s %s: %v, but top-level %s: %v", ns, m.name, c != nil, m.top, top != nil)
			}
			for _, al := range m.aliases {
				if c != nil && !c.HasAlias(al) {
					t.Errorf("%s %s lacks alias %s", ns, m.name, al)
				}
			}
		}
	}
	for _, path := range []string{"container prune", "image prune", "volume prune", "builder prune", "builder build", "container run", "image ls", "image rm", "container ls", "container inspect", "image diff"} {
		if findCommand(tree, path) == nil {
			t.Errorf("lade %s missing", path)
		}
	}
	if c := findCommand(tree, "image rm"); c == nil || c.Flags().Lookup("force") == nil || !strings.HasPrefix(c.Use, "rm ") {
		t.Errorf("image rm is not rmi renamed: %+v", c)
	}

	// A top-level command another file registers joins its namespace.
	saved := commands
	t.Cleanup(func() { commands = saved })
	commands = append(slices.Clip(commands), func(*app) *cobra.Command {
		return &cobra.Command{Use: "top CONTAINER [ps OPTIONS]", Short: "Display the running processes of a container", Example: "  lade top web"}
	})
	tree = testTree()
	c := findCommand(tree, "container top")
	if c == nil || c.Use != "top CONTAINER [ps OPTIONS]" || c.Example != "  lade top web" {
		t.Fatalf("container top = %+v, want the top-level top", c)
	}
	if c == findCommand(tree, "top") {
		t.Error("container top shares the top-level command's value")
	}
}

func TestVolumePrune(t *testing.T) {
	root := t.TempDir()
	for _, args := range [][]string{{"volume", "create", "named"}, {"volume", "create", "other"}} {
		if r := lade(t, root, "", args...); r.code != 0 {
			t.Fatalf("%v: %s", args, r.stderr)
		}
	}
	// Named volumes stay without -a; nothing is asked with -f; without -f
	// a "n" answer keeps everything.
	steps := []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"volume", "prune", "-f"}, "", "Total reclaimed space: 0B\n"},
		{[]string{"volume", "prune", "-a"}, "n\n", "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] "},
		{[]string{"volume", "prune", "-a", "-f"}, "", "Deleted Volumes:\nnamed\nother\n\nTotal reclaimed space: "},
	}
	for _, s := range steps {
		r := lade(t, root, s.stdin, s.args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, s.want) {
			t.Errorf("%v: code %d, out %q, want %q, err %s", s.args, r.code, r.stdout, s.want, r.stderr)
		}
	}
	if r := lade(t, root, "", "volume", "ls", "-q"); r.stdout != "" {
		t.Errorf("volumes left: %q", r.stdout)
	}
}

// TestContainerAndImagePrune runs a container, prunes it, then the image.
func TestContainerAndImagePrune(t *testing.T) {
	root := newRoot(t)
	if r := lade(t, root, "", "container", "run", "--name", "kept", "--label", "keep=1", "busybox", "true"); r.code != 0 {
		t.Fatalf("container run: %d %s", r.code, r.stderr)
	}
	id := strings.TrimSpace(lade(t, root, "", "container", "ls", "-aq", "--no-trunc").stdout)
	if r := lade(t, root, "", "container", "run", "--name", "done", "busybox", "sh", "-c", "echo hi > /f"); r.code != 0 {
		t.Fatalf("container run: %d %s", r.code, r.stderr)
	}
	r := lade(t, root, "", "info", "--format", "{{.Containers}} {{.ContainersStopped}} {{.Images}}")
	if r.stdout != "2 2 1\n" {
		t.Errorf("info after run: %q %s", r.stdout, r.stderr)
	}
	if r := lade(t, root, "", "container", "prune", "-f", "--filter", "label!=keep"); r.code != 0 || !strings.HasPrefix(r.stdout, "Deleted Containers:\n") {
		t.Errorf("container prune --filter label!=keep: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := lade(t, root, "", "container", "ls", "-aq", "--no-trunc"); r.stdout != id+"\n" {
		t.Errorf("after container prune --filter label!=keep: %q, want only %s", r.stdout, id)
	}
	if r := lade(t, root, "", "container", "prune", "-f", "--filter", "until=1h"); r.code != 0 || r.stdout != "Total reclaimed space: 0B\n" {
		t.Errorf("container prune --filter until=1h removed a new container: %d %q %s", r.code, r.stdout, r.stderr)
	}
	// A stopped container's image is in use: image prune -a keeps it.
	if r := lade(t, root, "", "image", "prune", "-a", "-f"); r.code != 0 || r.stdout != "Total reclaimed space: 0B\n" {
		t.Errorf("image prune with a container: %d %q %s", r.code, r.stdout, r.stderr)
	}
	r = lade(t, root, "", "container", "prune", "-f")
	if want := regexp.MustCompile("^Deleted Containers:\n" + id + "\n\nTotal reclaimed space: [0-9.]+k?B\n$"); r.code != 0 || !want.MatchString(r.stdout) {
		t.Errorf("container prune: %d %q, want %s; %s", r.code, r.stdout, want, r.stderr)
	}
	r = lade(t, root, "", "image", "prune", "-a", "-f", "--filter", "label=nope")
	if r.code != 0 || strings.Contains(r.stdout, "deleted:") {
		t.Errorf("image prune --filter label=nope removed an unlabelled image: %q %s", r.stdout, r.stderr)
	}
	r = lade(t, root, "", "image", "prune", "-a", "-f", "--filter", "until=1h", "--filter", "label!=nope")
	if want := regexp.MustCompile(`^Deleted Images:\ndeleted: sha256:[0-9a-f]{64}\n\nTotal reclaimed space: [1-9][0-9.]*[kM]B\n$`); r.code != 0 || !want.MatchString(r.stdout) {
		t.Errorf("image prune -a: %d %q; %s", r.code, r.stdout, r.stderr)
	}
	if r := lade(t, root, "", "image", "ls", "-q"); r.stdout != "" {
		t.Errorf("images left: %q", r.stdout)
	}
}
