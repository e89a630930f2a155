package apiserver

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	ctypes "github.com/moby/moby/api/types/container"

	"github.com/lade-build/lade/container"
)

func ptr[T any](v T) *T { return &v }

// TestCreateOptions: a create request's fields land in the options the
// CLI's flags fill. Requests are JSON as clients send them.
func TestCreateOptions(t *testing.T) {
	tests := []struct {
		name, body string
		want       container.CreateOptions
	}{
		{"minimal", `{"Image":"busybox","Cmd":["echo","hi"]}`,
			container.CreateOptions{Cmd: []string{"echo", "hi"}, Network: "bridge", Restart: "no"}},
		{"entrypoint list", `{"Image":"b","Entrypoint":["sh","-c"],"Cmd":["echo hi"]}`,
			container.CreateOptions{Entrypoint: ptr("sh"), Cmd: []string{"-c", "echo hi"}, Network: "bridge", Restart: "no"}},
		{"entrypoint cleared", `{"Image":"b","Entrypoint":[]}`,
			container.CreateOptions{Entrypoint: ptr(""), Network: "bridge", Restart: "no"}},
		{"host config", `{"Image":"b","Tty":true,"OpenStdin":true,"Env":["A=1"],"Labels":{"k":"v"},"StopTimeout":3,
			"HostConfig":{"Binds":["/h:/c:ro"],"NetworkMode":"default","AutoRemove":true,"Memory":67108864,
			"NanoCpus":1500000000,"PidsLimit":50,"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":2},
			"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}],"53/udp":[{"HostIp":"127.0.0.1","HostPort":""}]},
			"Tmpfs":{"/run":"size=1m"},"CapAdd":["NET_ADMIN"],"Dns":["1.1.1.1"],"ExtraHosts":["h:10.0.0.1"],"Init":true}}`,
			container.CreateOptions{Tty: true, OpenStdin: true, Env: []string{"A=1"}, Labels: []string{"k=v"}, StopTimeout: 3,
				Volumes: []string{"/h:/c:ro"}, Network: "bridge", AutoRemove: true, Memory: "67108864", CPUs: 1.5,
				PidsLimit: 50, Restart: "on-failure:2", Publish: []string{"127.0.0.1::53/udp", "8080:80/tcp"},
				Tmpfs: []string{"/run:size=1m"}, CapAdd: []string{"NET_ADMIN"}, Init: true,
				Net: container.NetSettings{DNS: []string{"1.1.1.1"}, ExtraHosts: []string{"h:10.0.0.1"}}}},
		{"user network and mounts", `{"Image":"b","Volumes":{"/data":{}},"Healthcheck":{"Test":["CMD-SHELL","true"],"Retries":2},
			"HostConfig":{"NetworkMode":"web","Mounts":[{"Type":"volume","Source":"v","Target":"/v","ReadOnly":true}]},
			"NetworkingConfig":{"EndpointsConfig":{"web":{"Aliases":["db"]}}}}`,
			container.CreateOptions{Volumes: []string{"/data"}, Network: "web", Restart: "no",
				Mounts: []string{"type=volume,target=/v,source=v,readonly"}, Health: container.HealthOptions{Test: []string{"CMD-SHELL", "true"}, Retries: 2},
				Net: container.NetSettings{Aliases: []string{"db"}}}},
		{"volumes also bound", `{"Image":"b","Volumes":{"/data":{},"/anon":{},"/m":{}},
			"HostConfig":{"Binds":["scr_data:/data:rw"],"Mounts":[{"Type":"volume","Target":"/m"}]}}`,
			container.CreateOptions{Volumes: []string{"scr_data:/data:rw", "/anon"}, Network: "bridge", Restart: "no",
				Mounts: []string{"type=volume,target=/m"}}},
		{"exec healthcheck", `{"Image":"b","Healthcheck":{"Test":["CMD","wget","-qO-","http://localhost/"],"Interval":1000000000}}`,
			container.CreateOptions{Network: "bridge", Restart: "no",
				Health: container.HealthOptions{Test: []string{"CMD", "wget", "-qO-", "http://localhost/"}, Interval: time.Second}}},
		{"further networks", `{"Image":"b","HostConfig":{"NetworkMode":"p_front"},
			"NetworkingConfig":{"EndpointsConfig":{"p_front":{"Aliases":["web"]},"p_back":{"Aliases":["web","w"]},"p_admin":null}}}`,
			container.CreateOptions{Network: "p_front", Restart: "no", Net: container.NetSettings{Aliases: []string{"web"},
				Connections: []container.Connection{{Network: "p_admin"}, {Network: "p_back", Aliases: []string{"web", "w"}}}}}},
		{"default endpoint", `{"Image":"b","HostConfig":{"NetworkMode":"default"},"NetworkingConfig":{"EndpointsConfig":{"default":{}}}}`,
			container.CreateOptions{Network: "bridge", Restart: "no"}},
		{"endpoint without a mode", `{"Image":"b","NetworkingConfig":{"EndpointsConfig":{"tcnet":{"Aliases":["web"]}}}}`,
			container.CreateOptions{Network: "tcnet", Restart: "no", Net: container.NetSettings{Aliases: []string{"web"}}}},
		{"later flags", `{"Image":"b","ExposedPorts":{"80/tcp":{}},"HostConfig":{"ShmSize":1048576,"MemorySwap":-1,"CpuShares":512,
			"Ulimits":[{"Name":"nofile","Soft":1024,"Hard":2048}],"Sysctls":{"net.ipv4.ip_forward":"1"},"VolumesFrom":["other:ro"],
			"LogConfig":{"Type":"none"}}}`,
			container.CreateOptions{Network: "bridge", Restart: "no", ShmSize: "1048576", MemorySwap: "-1", CPUShares: 512,
				Ulimits: []string{"nofile=1024:2048"}, Sysctls: []string{"net.ipv4.ip_forward=1"}, Expose: []string{"80/tcp"},
				VolumesFrom: []string{"other:ro"}, LogDriver: "none"}},
	}
	for _, tt := range tests {
		var req ctypes.CreateRequest
		if err := json.Unmarshal([]byte(tt.body), &req); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, err := createOptions("", req)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		slices.Sort(got.Publish)
		if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s: createOptions (-want +got):\n%s", tt.name, d)
		}
	}
}

func TestFilterArgs(t *testing.T) {
	tests := []struct {
		filters string
		want    []string
		bad     bool
	}{
		{"", nil, false},
		{`{"name":{"web":true},"label":{"a=b":true,"off":false}}`, []string{"label=a=b", "name=web"}, false},
		{`{"status":["exited","created"]}`, []string{"status=created", "status=exited"}, false},
		{`{"name":`, nil, true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/containers/json?filters="+url.QueryEscape(tt.filters), nil)
		got, err := filterArgs(r)
		if (err != nil) != tt.bad || !slices.Equal(got, tt.want) {
			t.Errorf("filterArgs(%s) = %q, %v; want %q (error: %v)", tt.filters, got, err, tt.want, tt.bad)
		}
	}
}
