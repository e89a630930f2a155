package apiserver

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	ctypes "github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"

	"github.com/lade-build/lade/container"
)

// createOptions maps a containers/create request onto the options
// `lade run` and `lade create` fill from their flags, so the API creates
// containers through the same code (container.Store.CreateFromImage).
func createOptions(name string, req ctypes.CreateRequest) (container.CreateOptions, error) {
	cfg := req.Config
	if cfg == nil {
		cfg = &ctypes.Config{}
	}
	hc := req.HostConfig
	if hc == nil {
		hc = &ctypes.HostConfig{}
	}
	o := container.CreateOptions{
		Name: name, Hostname: cfg.Hostname, User: cfg.User, Workdir: cfg.WorkingDir,
		Cmd: cfg.Cmd, Env: cfg.Env, OpenStdin: cfg.OpenStdin, StdinOnce: cfg.StdinOnce, Tty: cfg.Tty, StopSignal: cfg.StopSignal,
		AutoRemove: hc.AutoRemove, Privileged: hc.Privileged, ReadOnly: hc.ReadonlyRootfs,
		CapAdd: hc.CapAdd, CapDrop: hc.CapDrop, SecurityOpt: hc.SecurityOpt, GroupAdd: hc.GroupAdd,
		PublishAll: hc.PublishAllPorts, Volumes: hc.Binds, CPUs: float64(hc.NanoCPUs) / 1e9,
		Network: networkMode(hc.NetworkMode, req.NetworkingConfig), Restart: restartPolicy(hc.RestartPolicy),
	}
	if cfg.Entrypoint != nil {
		// The API's ENTRYPOINT is a list; lade's is one program, the rest
		// of the list goes before the command, as docker runs them.
		e := ""
		if len(cfg.Entrypoint) > 0 {
			e = cfg.Entrypoint[0]
			o.Cmd = append(slices.Clone(cfg.Entrypoint[1:]), cfg.Cmd...)
		}
		o.Entrypoint = &e
	}
	if cfg.StopTimeout != nil {
		o.StopTimeout = *cfg.StopTimeout
	}
	if hc.Init != nil {
		o.Init = *hc.Init
	}
	if hc.Memory > 0 {
		o.Memory = strconv.FormatInt(hc.Memory, 10)
	}
	if hc.PidsLimit != nil {
		o.PidsLimit = *hc.PidsLimit
	}
	for k, v := range cfg.Labels {
		o.Labels = append(o.Labels, k+"="+v)
	}
	for p := range cfg.Volumes {
		// Anonymous volumes, but not where a bind or mount goes:
		// docker-compose 1.29 lists its volumes in both.
		if !slices.Contains(targets(hc), p) {
			o.Volumes = append(o.Volumes, p)
		}
	}
	for _, d := range hc.Devices {
		o.Devices = append(o.Devices, d.PathOnHost+":"+d.PathInContainer+":"+d.CgroupPermissions)
	}
	for path, opts := range hc.Tmpfs {
		o.Tmpfs = append(o.Tmpfs, strings.TrimSuffix(path+":"+opts, ":"))
	}
	for _, m := range hc.Mounts {
		o.Mounts = append(o.Mounts, mountSpec(m))
	}
	for port, bindings := range hc.PortBindings {
		for _, b := range bindings {
			o.Publish = append(o.Publish, publishSpec(b.HostIP, b.HostPort, port.String()))
		}
	}
	if err := healthOptions(&o.Health, cfg.Healthcheck); err != nil {
		return o, err
	}
	netSettings(&o, hc, req)
	resourceOptions(&o, cfg, hc)
	return o, nil
}

// targets are the container paths of hc's binds (SRC:DST[:OPTS], or DST
// alone) and mounts.
func targets(hc *ctypes.HostConfig) []string {
	var out []string
	for _, b := range hc.Binds {
		parts := strings.Split(b, ":")
		out = append(out, parts[min(1, len(parts)-1)])
	}
	for _, m := range hc.Mounts {
		out = append(out, m.Target)
	}
	return out
}

// resourceOptions fills the options of run's later flags: --shm-size,
// --memory-swap, --cpu-shares, --ulimit, --sysctl, --expose,
// --volumes-from and --log-driver.
func resourceOptions(o *container.CreateOptions, cfg *ctypes.Config, hc *ctypes.HostConfig) {
	if hc.ShmSize > 0 {
		o.ShmSize = strconv.FormatInt(hc.ShmSize, 10)
	}
	if hc.MemorySwap != 0 {
		o.MemorySwap = strconv.FormatInt(hc.MemorySwap, 10)
	}
	o.CPUShares, o.VolumesFrom = hc.CPUShares, hc.VolumesFrom
	for _, u := range hc.Ulimits {
		o.Ulimits = append(o.Ulimits, fmt.Sprintf("%s=%d:%d", u.Name, u.Soft, u.Hard))
	}
	for k, v := range hc.Sysctls {
		o.Sysctls = append(o.Sysctls, k+"="+v)
	}
	for p := range cfg.ExposedPorts {
		o.Expose = append(o.Expose, p.String())
	}
	if t := hc.LogConfig.Type; t != "" && t != "json-file" {
		o.LogDriver = t // lade refuses what it lacks, as for --log-driver
	}
}

// networkMode is the --network value of a NetworkMode. docker's
// "default" (or none given) is the network of the request's one
// endpoint, as dockerd attaches it (testcontainers creates on a network
// so), else the bridge.
func networkMode(m ctypes.NetworkMode, nc *network.NetworkingConfig) string {
	if m != "" && m != "default" {
		return string(m)
	}
	if nc != nil && len(nc.EndpointsConfig) == 1 {
		for name := range nc.EndpointsConfig {
			return networkMode(ctypes.NetworkMode(name), nil) // docker run's is "default"
		}
	}
	return "bridge"
}

// restartPolicy is the --restart value of a RestartPolicy.
func restartPolicy(p ctypes.RestartPolicy) string {
	if p.Name == "" {
		return "no"
	}
	if p.Name == ctypes.RestartPolicyOnFailure && p.MaximumRetryCount > 0 {
		return fmt.Sprintf("%s:%d", p.Name, p.MaximumRetryCount)
	}
	return string(p.Name)
}

// mountSpec is the --mount value of m.
func mountSpec(m mount.Mount) string {
	parts := []string{"type=" + string(m.Type), "target=" + m.Target}
	if m.Source != "" {
		parts = append(parts, "source="+m.Source)
	}
	if m.ReadOnly {
		parts = append(parts, "readonly")
	}
	if t := m.TmpfsOptions; t != nil {
		if t.SizeBytes > 0 {
			parts = append(parts, "tmpfs-size="+strconv.FormatInt(t.SizeBytes, 10))
		}
		if t.Mode != 0 {
			parts = append(parts, "tmpfs-mode="+strconv.FormatUint(uint64(t.Mode.Perm()), 8))
		}
	}
	return strings.Join(parts, ",")
}

// publishSpec is the -p value of one port binding: IP:HOST-PORT:PORT/PROTO.
func publishSpec(ip netip.Addr, hostPort, port string) string {
	if !ip.IsValid() {
		return hostPort + ":" + port // "" picks a free port
	}
	if ip.Is6() {
		return "[" + ip.String() + "]:" + hostPort + ":" + port
	}
	return ip.String() + ":" + hostPort + ":" + port
}

// healthOptions lays a request's Healthcheck over the image's, as the
// --health-* flags do.
func healthOptions(h *container.HealthOptions, hc *ctypes.HealthConfig) error {
	if hc == nil {
		return nil
	}
	switch {
	case len(hc.Test) > 0 && hc.Test[0] == "NONE":
		h.Disable = true
	case len(hc.Test) > 1 && (hc.Test[0] == "CMD-SHELL" || hc.Test[0] == "CMD"):
		h.Test = hc.Test // compose sends either form
	case len(hc.Test) > 0:
		return badParameter(fmt.Errorf("healthcheck test %q: want NONE, CMD ARGS... or CMD-SHELL COMMAND", hc.Test))
	}
	h.Interval, h.Timeout, h.StartPeriod, h.Retries = hc.Interval, hc.Timeout, hc.StartPeriod, hc.Retries
	return nil
}

// netSettings fills the --dns*, --add-host and --network-alias options,
// and the further networks.
func netSettings(o *container.CreateOptions, hc *ctypes.HostConfig, req ctypes.CreateRequest) {
	for _, a := range hc.DNS {
		o.Net.DNS = append(o.Net.DNS, a.String())
	}
	o.Net.DNSSearch, o.Net.DNSOptions, o.Net.ExtraHosts = hc.DNSSearch, hc.DNSOptions, hc.ExtraHosts
	if req.NetworkingConfig == nil {
		return
	}
	// The endpoint of NetworkMode's network (docker run names the
	// default one "default") sets its options; the others (compose sends
	// a service's every network, API 1.44 on) are further networks, as
	// network connect makes them.
	for name, ep := range req.NetworkingConfig.EndpointsConfig {
		if networkMode(ctypes.NetworkMode(name), nil) == o.Network {
			if ep != nil {
				o.Net.Aliases = ep.Aliases
				if ep.MacAddress.String() != "" {
					o.Net.MAC = ep.MacAddress.String()
				}
			}
			continue
		}
		c := container.Connection{Network: name}
		if ep != nil {
			c.Aliases = ep.Aliases
		}
		o.Net.Connections = append(o.Net.Connections, c)
	}
	slices.SortFunc(o.Net.Connections, func(a, b container.Connection) int { return strings.Compare(a.Network, b.Network) })
}
