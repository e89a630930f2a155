package engine

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/container"
)

// TestContainerInspectTemplates runs the templates docker users' scripts
// use on the inspect record of a running container on the default
// bridge, and of one that exited.
func TestContainerInspectTemplates(t *testing.T) {
	s, err := container.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	web, job := fixture()[0], fixture()[1]
	web.Args = []string{"/entry.sh", "nginx", "-g", "daemon off;"}
	web.State.Network = &container.NetworkState{Name: "bridge", IPAddress: "172.17.0.2", PrefixLen: 16, Gateway: "172.17.0.1", MacAddress: "02:42:ac:11:00:02"}
	web.State.Ports = []container.Port{{HostIP: "127.0.0.1", HostPort: 8080, Port: 80, Proto: "tcp"}}
	img := &v1.ConfigFile{Config: v1.Config{Entrypoint: []string{"/entry.sh"}}}
	anyIP := fixture()[0]
	anyIP.State.Ports = []container.Port{{HostPort: 8080, Port: 80, Proto: "tcp"}}
	tests := []struct {
		c      *container.Container
		format string
		want   string
	}{
		{web, "{{.State.Status}} {{.State.Running}} {{.State.Pid}}", "running true 42"},
		{web, "{{.State.Health.Status}}", "healthy"},
		{web, "{{.Name}} {{.Config.Image}} {{.Image}}", "/web nginx sha256:1234567890ab"},
		{web, "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}}", "172.17.0.2 172.17.0.1"},
		{web, "{{(index .NetworkSettings.Networks \"bridge\").IPAddress}}", "172.17.0.2"},
		{web, "{{json .Config.Entrypoint}} {{json .Config.Cmd}} {{.Path}}", `["/entry.sh"] ["nginx","-g","daemon off;"] /entry.sh`},
		{web, "{{(index (index .NetworkSettings.Ports \"80/tcp\") 0).HostPort}}", "8080"},
		{anyIP, "{{range $p, $b := .NetworkSettings.Ports}}{{$p}} {{(index $b 0).HostIP}}:{{(index $b 0).HostPort}}{{end}}", "80/tcp 0.0.0.0:8080"},
		{web, "{{.HostConfig.NetworkMode}} {{json .Config.Labels}}", `bridge {"tier":"front"}`},
		{job, "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}} {{.State.Pid}}", "exited 3 false 0"},
		{job, "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}", "volume data /data"},
		{job, "{{len .NetworkSettings.Ports}} {{.NetworkSettings.IPAddress}}|", "0 |"},
		{job, "{{upper .HostConfig.RestartPolicy.Name}}|{{join .Args \",\"}}", "|"},
	}
	for _, tc := range tests {
		rec := ContainerInspect(s, tc.c, img)
		var out bytes.Buffer
		ins, err := NewInspector(&out, tc.format)
		if err != nil {
			t.Fatalf("NewInspector(%q): %v", tc.format, err)
		}
		if err := ins.Add(rec); err != nil {
			t.Errorf("%s: %q: %v", tc.c.Name, tc.format, err)
			continue
		}
		if err := ins.Flush(); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSuffix(out.String(), "\n"); got != tc.want {
			t.Errorf("%s: %q = %q, want %q", tc.c.Name, tc.format, got, tc.want)
		}
	}
}

// TestInspectorJSON: without a format, docker's indented array, keys in
// the Engine API's case; an empty one is "[]".
func TestInspectorJSON(t *testing.T) {
	s, err := container.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ins, _ := NewInspector(&out, "")
	if err := ins.Add(ContainerInspect(s, fixture()[0], nil)); err != nil {
		t.Fatal(err)
	}
	if err := ins.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "[\n    {\n        \"Id\": \"aaa111\",") {
		t.Errorf("inspect JSON starts %q", out.String()[:min(60, out.Len())])
	}
	var recs []map[string]any
	if err := json.Unmarshal(out.Bytes(), &recs); err != nil || len(recs) != 1 {
		t.Fatalf("inspect JSON: %v", err)
	}
	for _, k := range []string{"Id", "Created", "Path", "Args", "State", "Image", "Name", "RestartCount", "HostConfig", "Mounts", "Config", "NetworkSettings", "GraphDriver", "LogPath"} {
		if _, ok := recs[0][k]; !ok {
			t.Errorf("inspect JSON lacks %s", k)
		}
	}
	out.Reset()
	ins, _ = NewInspector(&out, "")
	_ = ins.Flush()
	if out.String() != "[]\n" {
		t.Errorf("empty inspect = %q, want []", out.String())
	}
	if _, err := NewInspector(&out, "{{.State"); err == nil {
		t.Error("a broken template was accepted")
	}
}

// TestConfigExposedVolumes: the image's EXPOSE and VOLUME join the
// published ports and anonymous volumes in Config, as docker shows them.
func TestConfigExposedVolumes(t *testing.T) {
	c := fixture()[1]
	c.Ports = []container.Port{{HostPort: 8080, Port: 80, Proto: "tcp"}}
	c.AnonVolumes = []string{"anon1"}
	c.Mounts = append(c.Mounts, container.Mount{Type: "volume", Name: "anon1", Target: "/cache"})
	img := &v1.ConfigFile{Config: v1.Config{ExposedPorts: map[string]struct{}{"53/udp": {}}, Volumes: map[string]struct{}{"/var/lib/x": {}}}}
	cfg := containerConfig(c, img)
	b, _ := json.Marshal(struct{ E, V any }{cfg.ExposedPorts, cfg.Volumes})
	if want := `{"E":{"53/udp":{},"80/tcp":{}},"V":{"/cache":{},"/var/lib/x":{}}}`; string(b) != want {
		t.Errorf("ExposedPorts, Volumes = %s, want %s", b, want)
	}
	if cfg := containerConfig(fixture()[2], nil); cfg.ExposedPorts != nil || cfg.Volumes != nil {
		t.Errorf("a container without ports or volumes: %v %v", cfg.ExposedPorts, cfg.Volumes)
	}
}
