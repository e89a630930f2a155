package engine

import (
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	ntypes "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/storage"

	"github.com/lade-build/lade/container"
)

// ContainerJSON is docker container inspect's record: the Engine API's
// InspectResponse, with the network settings of API 1.41 kept.
type ContainerJSON struct {
	ctypes.InspectResponse
	NetworkSettings *NetworkSettings
}

// NetworkSettings are the Engine API's, plus the default network's
// address at the top, where API 1.41 put it and where scripts read
// {{.NetworkSettings.IPAddress}}.
type NetworkSettings struct {
	Bridge                 string
	SandboxID              string
	SandboxKey             string
	HairpinMode            bool
	LinkLocalIPv6Address   string
	LinkLocalIPv6PrefixLen int
	Ports                  ntypes.PortMap
	SecondaryIPAddresses   []string
	SecondaryIPv6Addresses []string
	EndpointID             string
	Gateway                string
	GlobalIPv6Address      string
	GlobalIPv6PrefixLen    int
	IPAddress              string
	IPPrefixLen            int
	IPv6Gateway            string
	MacAddress             string
	Networks               map[string]*ntypes.EndpointSettings
}

// ContainerInspect fills docker's inspect record of c, kept in s; img is
// the config of c's image (nil if gone), which says what of c's command
// is the image's entrypoint.
func ContainerInspect(s *container.Store, c *container.Container, img *v1.ConfigFile) ContainerJSON {
	dir := s.Dir(c.ID)
	rootfs := filepath.Join(dir, "rootfs")
	var r ctypes.InspectResponse
	r.ID = c.ID
	r.Created = dockerTime(c.Created)
	if len(c.Args) > 0 {
		r.Path, r.Args = c.Args[0], slices.Clone(c.Args[1:])
	}
	r.Args = nonNil(r.Args)
	r.State = containerState(c)
	r.Image = c.ImageID
	r.ResolvConfPath = filepath.Join(dir, "etc", "resolv.conf")
	r.HostnamePath = filepath.Join(dir, "etc", "hostname")
	r.HostsPath = filepath.Join(dir, "etc", "hosts")
	r.LogPath = s.LogPath(c.ID)
	r.Name = "/" + c.Name
	r.RestartCount = c.State.RestartCount
	r.Driver = "overlay"
	r.Platform = "linux"
	if c.Platform != nil {
		r.Platform = c.Platform.OS
	}
	r.HostConfig = hostConfig(c)
	r.GraphDriver = &storage.DriverData{Name: "overlay", Data: map[string]string{
		"LowerDir":  strings.Join(c.Lowers, ":"),
		"UpperDir":  filepath.Join(rootfs, "upper"),
		"WorkDir":   filepath.Join(rootfs, "work"),
		"MergedDir": filepath.Join(rootfs, "merged"),
	}}
	r.Mounts = mountPoints(c)
	r.Config = containerConfig(c, img)
	return ContainerJSON{InspectResponse: r, NetworkSettings: networkSettings(c)}
}

// containerState is docker's State: lade's status, and the times in
// docker's form (the zero time when never started or finished).
func containerState(c *container.Container) *ctypes.State {
	st := c.State
	status := Status(&st)
	s := &ctypes.State{
		Status:     status,
		Running:    status == ctypes.StateRunning || status == ctypes.StateRestarting || status == ctypes.StatePaused,
		Paused:     status == ctypes.StatePaused,
		Restarting: status == ctypes.StateRestarting,
		OOMKilled:  st.OOMKilled,
		Pid:        st.Pid,
		ExitCode:   st.ExitCode,
		Error:      st.Error,
		StartedAt:  dockerTime(st.StartedAt),
		FinishedAt: dockerTime(st.FinishedAt),
	}
	if !s.Running {
		s.Pid = 0
	}
	if h := st.Health; h != nil && c.Healthcheck != nil {
		s.Health = &ctypes.Health{Status: ctypes.HealthStatus(h.Status), FailingStreak: h.FailingStreak,
			Log: []*ctypes.HealthcheckResult{}}
		for _, r := range h.Log {
			s.Health.Log = append(s.Health.Log, &ctypes.HealthcheckResult{Start: r.Start, End: r.End, ExitCode: r.ExitCode, Output: r.Output})
		}
	}
	return s
}

// containerConfig is docker's Config: what the container runs, with the
// image's entrypoint told apart from the command when c's command starts
// with it.
func containerConfig(c *container.Container, img *v1.ConfigFile) *ctypes.Config {
	cfg := &ctypes.Config{
		Hostname:     c.Hostname,
		Domainname:   c.Domainname,
		User:         c.User,
		Tty:          c.Tty,
		OpenStdin:    c.OpenStdin,
		AttachStdin:  c.OpenStdin,
		StdinOnce:    c.StdinOnce,
		AttachStdout: c.AttachStdout,
		AttachStderr: c.AttachStderr,
		Env:          nonNil(c.Env),
		Cmd:          slices.Clone(c.Args),
		Image:        c.Image,
		WorkingDir:   c.Cwd,
		Labels:       nonNilMap(c.Labels),
		StopSignal:   c.StopSignal,
	}
	if img != nil {
		if ep := img.Config.Entrypoint; len(ep) > 0 && len(c.Args) >= len(ep) && slices.Equal(ep, c.Args[:len(ep)]) {
			cfg.Entrypoint, cfg.Cmd = slices.Clone(ep), slices.Clone(c.Args[len(ep):])
		}
	}
	if c.StopTimeout > 0 {
		t := c.StopTimeout
		cfg.StopTimeout = &t
	}
	if hc := c.Healthcheck; hc != nil {
		cfg.Healthcheck = &ctypes.HealthConfig{Test: hc.Test, Interval: hc.Interval, Timeout: hc.Timeout,
			StartPeriod: hc.StartPeriod, StartInterval: hc.StartInterval, Retries: hc.Retries}
	}
	cfg.ExposedPorts, cfg.Volumes = exposedAndVolumes(c, img)
	return cfg
}

// exposedAndVolumes are the container's exposed ports (the image's
// EXPOSE and the published ones) and anonymous volumes' targets (the
// image's VOLUME and -v DIR), as docker's Config lists them.
func exposedAndVolumes(c *container.Container, img *v1.ConfigFile) (ntypes.PortSet, map[string]struct{}) {
	ports, vols := ntypes.PortSet{}, map[string]struct{}{}
	if img != nil {
		for p := range img.Config.ExposedPorts {
			if port, err := ntypes.ParsePort(p); err == nil {
				ports[port] = struct{}{}
			}
		}
		for v := range img.Config.Volumes {
			vols[v] = struct{}{}
		}
	}
	for p := range portMap(c.Ports, netip.Addr{}) {
		ports[p] = struct{}{}
	}
	for _, m := range c.Mounts {
		if m.Type == "volume" && slices.Contains(c.AnonVolumes, m.Name) {
			vols[m.Target] = struct{}{}
		}
	}
	if len(ports) == 0 {
		ports = nil
	}
	if len(vols) == 0 {
		vols = nil
	}
	return ports, vols
}

// mountPoints are docker's Mounts: binds, volumes and tmpfs.
func mountPoints(c *container.Container) []ctypes.MountPoint {
	out := []ctypes.MountPoint{}
	for _, m := range c.Mounts {
		mp := ctypes.MountPoint{Type: mount.Type(m.Type), Source: m.Source, Destination: m.Target, RW: !m.ReadOnly}
		switch m.Type {
		case "volume":
			mp.Name, mp.Driver = m.Name, "local"
		case "bind":
			mp.Propagation = mount.PropagationRPrivate
		}
		out = append(out, mp)
	}
	return out
}

// portMap is ports keyed by container port, as docker's PortBindings
// and NetworkSettings.Ports are; a port without a host address gets
// anyIP (docker's bound ports show 0.0.0.0, its requests nothing).
func portMap(ports []container.Port, anyIP netip.Addr) ntypes.PortMap {
	m := ntypes.PortMap{}
	for _, p := range ports {
		key, ok := ntypes.PortFrom(uint16(p.Port), ntypes.IPProtocol(p.Proto))
		if !ok {
			continue
		}
		b := ntypes.PortBinding{HostPort: strconv.Itoa(p.HostPort)}
		if p.HostPortEnd > p.HostPort {
			b.HostPort += "-" + strconv.Itoa(p.HostPortEnd)
		} else if p.HostPort == 0 {
			b.HostPort = ""
		}
		b.HostIP = anyIP
		if ip, err := netip.ParseAddr(p.HostIP); err == nil {
			b.HostIP = ip
		}
		m[key] = append(m[key], b)
	}
	return m
}
