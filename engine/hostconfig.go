package engine

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/docker/go-units"
	ctypes "github.com/moby/moby/api/types/container"
	ntypes "github.com/moby/moby/api/types/network"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/network"
	"github.com/lade-build/lade/runner"
)

// hostConfig is docker's HostConfig of c: mounts, network, ports,
// restart policy, privileges and limits, as run's flags set them.
func hostConfig(c *container.Container) *ctypes.HostConfig {
	h := &ctypes.HostConfig{
		Binds:          []string{},
		LogConfig:      ctypes.LogConfig{Type: logDriver(c), Config: map[string]string{}},
		ShmSize:        c.ShmSize,
		Sysctls:        c.Sysctls,
		NetworkMode:    ctypes.NetworkMode(c.Network),
		PortBindings:   portMap(c.Ports, netip.Addr{}),
		RestartPolicy:  ctypes.RestartPolicy{Name: ctypes.RestartPolicyMode(c.Restart.Name), MaximumRetryCount: c.Restart.MaxRetries},
		AutoRemove:     c.AutoRemove,
		DNSOptions:     nonNil(c.Net.DNSOptions),
		DNSSearch:      nonNil(c.Net.DNSSearch),
		ExtraHosts:     c.Net.ExtraHosts,
		GroupAdd:       c.GroupAdd,
		Privileged:     c.Privileged,
		ReadonlyRootfs: c.ReadOnly,
		PidMode:        ctypes.PidMode(c.PidMode),
		IpcMode:        ctypes.IpcMode(c.IpcMode),
		UTSMode:        ctypes.UTSMode(c.UTSMode),
		OomScoreAdj:    c.OOMScoreAdj,
	}
	if h.IpcMode == "" {
		h.IpcMode = "private" // docker's default
	}
	h.CapAdd, h.CapDrop = capabilityChanges(c)
	h.DNS = []netip.Addr{}
	for _, d := range c.Net.DNS {
		if a, err := netip.ParseAddr(d); err == nil {
			h.DNS = append(h.DNS, a)
		}
	}
	if c.Init {
		init := true
		h.Init = &init
	}
	for _, m := range c.Mounts {
		switch m.Type {
		case "bind", "volume":
			src := m.Source
			if m.Type == "volume" {
				src = m.Name
			}
			b := src + ":" + m.Target
			if m.ReadOnly {
				b += ":ro"
			}
			h.Binds = append(h.Binds, b)
		case "tmpfs":
			if h.Tmpfs == nil {
				h.Tmpfs = map[string]string{}
			}
			h.Tmpfs[m.Target] = strings.Join(m.Options, ",")
		}
	}
	if c.Seccomp != "" {
		h.SecurityOpt = append(h.SecurityOpt, "seccomp="+c.Seccomp)
	}
	if c.NoNewPrivileges {
		h.SecurityOpt = append(h.SecurityOpt, "no-new-privileges")
	}
	h.Resources = resources(c)
	return h
}

// logDriver is c's --log-driver as docker names it.
func logDriver(c *container.Container) string {
	if c.LogDriver == "" {
		return "json-file"
	}
	return c.LogDriver
}

// resources are c's cgroup limits and devices.
func resources(c *container.Container) ctypes.Resources {
	r := ctypes.Resources{Memory: c.Resources.Memory, NanoCPUs: int64(c.Resources.CPUs * 1e9),
		MemorySwap: c.Resources.MemorySwap, CPUShares: c.Resources.CPUShares, Devices: []ctypes.DeviceMapping{}}
	for _, u := range c.Ulimits {
		if ul, err := units.ParseUlimit(u); err == nil {
			r.Ulimits = append(r.Ulimits, ul)
		}
	}
	lim := c.Resources
	r.CPUPeriod, r.CPUQuota, r.CpusetCpus, r.CpusetMems = lim.CPUPeriod, lim.CPUQuota, lim.CpusetCpus, lim.CpusetMems
	r.MemoryReservation, r.MemorySwappiness, r.BlkioWeight = lim.MemoryReservation, lim.MemorySwappiness, lim.BlkioWeight
	if c.Resources.PidsLimit > 0 {
		n := c.Resources.PidsLimit
		r.PidsLimit = &n
	}
	for _, d := range c.Devices {
		r.Devices = append(r.Devices, ctypes.DeviceMapping{PathOnHost: d.Path, PathInContainer: d.Path, CgroupPermissions: d.Access})
	}
	return r
}

// capabilityChanges are c's kept capabilities as docker's --cap-add and
// --cap-drop against the default set.
func capabilityChanges(c *container.Container) (add, drop []string) {
	if c.Privileged {
		return nil, nil
	}
	for _, k := range c.Capabilities {
		if !slices.Contains(runner.DefaultCapabilities, k) {
			add = append(add, k)
		}
	}
	for _, k := range runner.DefaultCapabilities {
		if !slices.Contains(c.Capabilities, k) {
			drop = append(drop, k)
		}
	}
	return add, drop
}

// networkSettings are where c is: its networks, its address while it
// runs on a bridge, its published ports while up.
func networkSettings(c *container.Container) *NetworkSettings {
	ns := &NetworkSettings{Ports: ntypes.PortMap{}, Networks: map[string]*ntypes.EndpointSettings{}}
	if c.Network == "" {
		return ns
	}
	ep := &ntypes.EndpointSettings{Aliases: c.Net.Aliases, DNSNames: nil}
	if st := c.State.Network; st != nil && running(c) {
		ip, _ := netip.ParseAddr(st.IPAddress)
		gw, _ := netip.ParseAddr(st.Gateway)
		setAddress(ep, ip, gw, st.PrefixLen, st.MacAddress)
		if c.Network == network.DefaultName {
			ns.IPAddress, ns.Gateway, ns.IPPrefixLen, ns.MacAddress = st.IPAddress, st.Gateway, st.PrefixLen, st.MacAddress
		}
	}
	if running(c) {
		ns.Ports = portMap(c.Bindings(), netip.IPv4Unspecified())
	}
	ns.Networks[c.Network] = ep
	// The further networks network connect (or a create's endpoints) put
	// it on: compose recreates a container that lacks one of its own.
	for _, x := range c.Net.Connections {
		ns.Networks[x.Network] = &ntypes.EndpointSettings{Aliases: x.Aliases}
	}
	return ns
}

// setAddress puts a running container's address on a network into ep.
func setAddress(ep *ntypes.EndpointSettings, ip, gw netip.Addr, bits int, mac string) {
	ep.IPAddress, ep.Gateway, ep.IPPrefixLen = ip, gw, bits
	if hw, err := net.ParseMAC(mac); err == nil {
		ep.MacAddress = ntypes.HardwareAddr(hw)
	}
}

func running(c *container.Container) bool {
	return c.State.Status == container.StatusRunning || c.State.Status == container.StatusRestarting
}

// dockerTime is t as the Engine API writes times; the zero time too.
func dockerTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// ago is docker's "N units" for the time since t.
func ago(t time.Time) string {
	return units.HumanDuration(time.Since(t))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
