package container

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/lade-build/lade/internal/testutil"
)

// TestNewConfig checks run's options against an image config without a
// store or root: what CreateFromImage records before it touches a rootfs.
func TestNewConfig(t *testing.T) {
	var ic dockerspec.DockerOCIImage
	ic.Config.Entrypoint = []string{"/bin/sh", "-c"}
	ic.Config.Cmd = []string{"echo hi"}
	ic.Config.Env = []string{"A=1"}
	ic.Config.StopSignal = "SIGQUIT"
	ic.Config.ExposedPorts = map[string]struct{}{"80/tcp": {}, "53/udp": {}}
	ic.Config.Healthcheck = &dockerspec.HealthcheckConfig{Test: []string{"CMD", "true"}, Retries: 5}
	ic.OS, ic.Architecture, ic.Variant = "linux", "arm64", "v8"
	img := Image{Ref: "app:1", ID: "sha256:abc", Config: &ic, Lowers: []string{"/l1"}}
	empty := ""
	tests := []struct {
		name  string
		opts  CreateOptions
		check func(*Config) bool
		err   string
	}{
		{name: "image defaults", check: func(c *Config) bool {
			return slices.Equal(c.Args, []string{"/bin/sh", "-c", "echo hi"}) && c.Network == "bridge" &&
				c.StopSignal == "SIGQUIT" && c.Restart.Name == "no" && c.Hostname == "pending" &&
				slices.Equal(c.Env, []string{"A=1"}) && c.Healthcheck.Retries == 5 && c.Ports == nil &&
				slices.Equal(c.Lowers, []string{"/l1"}) && c.ImageID == "sha256:abc" && c.Image == "app:1" &&
				c.Platform.Equals(v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"})
		}},
		{name: "cmd replaces CMD", opts: CreateOptions{Cmd: []string{"date"}}, check: func(c *Config) bool {
			return slices.Equal(c.Args, []string{"/bin/sh", "-c", "date"})
		}},
		{name: "empty entrypoint drops both", opts: CreateOptions{Entrypoint: &empty, Cmd: []string{"ls"}}, check: func(c *Config) bool {
			return slices.Equal(c.Args, []string{"ls"})
		}},
		{name: "empty entrypoint and no cmd", opts: CreateOptions{Entrypoint: &empty}, err: "no command specified"},
		{name: "private is none", opts: CreateOptions{Network: "private"}, check: func(c *Config) bool { return c.Network == "none" }},
		{name: "container network without a name", opts: CreateOptions{Network: "container:"}, err: "name the container"},
		{name: "alias on the default network", opts: CreateOptions{Net: NetSettings{Aliases: []string{"a"}}}, err: "only supported for user-defined networks"},
		{name: "bad add-host", opts: CreateOptions{Net: NetSettings{ExtraHosts: []string{"foo:nope"}}}, err: "invalid --add-host"},
		{name: "restart with rm", opts: CreateOptions{Restart: "always", AutoRemove: true}, err: "conflicting options"},
		{name: "bad stop signal", opts: CreateOptions{StopSignal: "SIGNOPE"}, err: "SIGNOPE"},
		{name: "memory below minimum", opts: CreateOptions{Memory: "1m"}, err: "minimum memory limit"},
		{name: "publish all", opts: CreateOptions{PublishAll: true, Publish: []string{"8080:80"}}, check: func(c *Config) bool {
			var got []string
			for _, p := range c.Ports {
				got = append(got, p.String())
			}
			return strings.Join(got, " ") == "0.0.0.0:8080->80/tcp 0.0.0.0:0->53/udp"
		}},
		{name: "cap drop all, add one", opts: CreateOptions{CapDrop: []string{"ALL"}, CapAdd: []string{"net_admin"}}, check: func(c *Config) bool {
			return slices.Equal(c.Capabilities, []string{"CAP_NET_ADMIN"})
		}},
		{name: "privileged keeps all", opts: CreateOptions{Privileged: true}, check: func(c *Config) bool { return c.Capabilities == nil }},
		{name: "health flags over image", opts: CreateOptions{Health: HealthOptions{Cmd: "check", Interval: time.Second}}, check: func(c *Config) bool {
			h := c.Healthcheck
			return slices.Equal(h.Test, []string{"CMD-SHELL", "check"}) && h.Interval == time.Second && h.Retries == 5
		}},
		{name: "exec-form healthcheck", opts: CreateOptions{Health: HealthOptions{Test: []string{"CMD", "wget", "-q", "http://x/"}}}, check: func(c *Config) bool {
			return slices.Equal(c.Healthcheck.Test, []string{"CMD", "wget", "-q", "http://x/"})
		}},
		{name: "no healthcheck", opts: CreateOptions{Health: HealthOptions{Disable: true}}, check: func(c *Config) bool { return c.Healthcheck == nil }},
		{name: "labels and security", opts: CreateOptions{Labels: []string{"a=b", "c"}, SecurityOpt: []string{"no-new-privileges", "seccomp=unconfined"}}, check: func(c *Config) bool {
			return c.Labels["a"] == "b" && c.Labels["c"] == "" && len(c.Labels) == 2 && c.NoNewPrivileges && c.Seccomp == "unconfined"
		}},
		{name: "unknown security option", opts: CreateOptions{SecurityOpt: []string{"label=disable"}}, err: "unsupported --security-opt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newConfig(img, &tc.opts)
			if testutil.ErrCase(t, err, tc.err) {
				return
			}
			if !tc.check(c) {
				t.Errorf("config %+v", c)
			}
		})
	}
}

func TestParseMountFlags(t *testing.T) {
	tests := []struct {
		in   string
		flag func(string) (Mount, error)
		want Mount
		err  string
	}{
		{in: "data:/d:ro", flag: ParseVolumeFlag, want: Mount{Type: "volume", Name: "data", Target: "/d", ReadOnly: true}},
		{in: "/anon", flag: ParseVolumeFlag, want: Mount{Type: "volume", Target: "/anon"}},
		{in: "a:/b:rshared", flag: ParseVolumeFlag, err: `unknown option "rshared"`},
		{in: "type=tmpfs,target=/t,tmpfs-size=1m", flag: ParseMountFlag, want: Mount{Type: "tmpfs", Target: "/t", Options: []string{"size=1048576"}}},
		{in: "type=tmpfs,target=/t,tmpfs-size=1GiB", flag: ParseMountFlag, want: Mount{Type: "tmpfs", Target: "/t", Options: []string{"size=1073741824"}}},
		{in: "type=tmpfs,target=/t,tmpfs-size=big", flag: ParseMountFlag, err: "invalid size"},
		{in: "source=v,target=/v,readonly", flag: ParseMountFlag, want: Mount{Type: "volume", Name: "v", Target: "/v", ReadOnly: true}},
		{in: "type=bind,source=rel,target=/x", flag: ParseMountFlag, err: "absolute path"},
		{in: "target=/x,colour=red", flag: ParseMountFlag, err: `unknown key "colour"`},
		{in: "/t:ro,size=1m", flag: parseTmpfsFlag,
			want: Mount{Type: "tmpfs", Target: "/t", ReadOnly: true, Options: []string{"size=1048576"}}},
		{in: "/t:size=64MiB,mode=1777", flag: parseTmpfsFlag,
			want: Mount{Type: "tmpfs", Target: "/t", Options: []string{"size=67108864", "mode=1777"}}},
		{in: "/t:size=50%", flag: parseTmpfsFlag, want: Mount{Type: "tmpfs", Target: "/t", Options: []string{"size=50%"}}},
		{in: "/t:size=lots", flag: parseTmpfsFlag, err: "invalid size"},
	}
	for _, tc := range tests {
		m, err := tc.flag(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || m.Type != tc.want.Type || m.Name != tc.want.Name || m.Target != tc.want.Target ||
			m.ReadOnly != tc.want.ReadOnly || !slices.Equal(m.Options, tc.want.Options) {
			t.Errorf("%s: %+v %v, want %+v", tc.in, m, err, tc.want)
		}
	}
}

func TestParseEnv(t *testing.T) {
	t.Setenv("LADE_TEST_FROM_ENV", "x")
	file := t.TempDir() + "/env"
	if err := os.WriteFile(file, []byte("# comment\n\n  B=2\nLADE_TEST_FROM_ENV\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ParseEnv([]string{file}, []string{"A=1", "LADE_TEST_UNSET"})
	if err != nil || !slices.Equal(got, []string{"B=2", "LADE_TEST_FROM_ENV=x", "A=1"}) {
		t.Errorf("ParseEnv = %q, %v", got, err)
	}
	if _, err := ParseEnv(nil, []string{"=v"}); err == nil {
		t.Error("an empty key was accepted")
	}
}
