package engine

import (
	"context"
	"net/netip"
	"strings"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/lade-build/lade/container"
)

// ContainerSummary fills docker ps's record of c, without sizes.
func ContainerSummary(c *container.Container) ctypes.Summary {
	s := ctypes.Summary{
		ID:      c.ID,
		Names:   []string{"/" + c.Name},
		Image:   c.Image,
		ImageID: c.ImageID,
		Command: strings.Join(c.Args, " "),
		Created: c.Created.Unix(),
		Ports:   []ctypes.PortSummary{},
		Labels:  nonNilMap(c.Labels),
		State:   Status(&c.State),
		Status:  StatusText(&c.State),
		Mounts:  mountPoints(c),
	}
	s.HostConfig.NetworkMode = c.Network
	if running(c) {
		s.Ports = portSummaries(c.Bindings())
	}
	if h := c.State.Health; h != nil && c.Healthcheck != nil {
		s.Health = &ctypes.HealthSummary{Status: ctypes.HealthStatus(h.Status), FailingStreak: h.FailingStreak}
	}
	s.NetworkSettings = &ctypes.NetworkSettingsSummary{Networks: networkSettings(c).Networks}
	return s
}

// ContainerSummaries are docker ps's records of list; with size, each
// one's writable layer is measured (SizeRw) and its image's size added
// (SizeRootFs).
func (s Stores) ContainerSummaries(ctx context.Context, list []*container.Container, size bool) []ctypes.Summary {
	out := make([]ctypes.Summary, 0, len(list))
	nv := s.networkView(ctx)
	for _, c := range list {
		sum := ContainerSummary(c)
		nv.fill(c, sum.NetworkSettings.Networks)
		if size {
			sum.SizeRw = s.Containers.SizeRw(c.ID)
			sum.SizeRootFs = sum.SizeRw
			if img, err := s.Images.Get(ctx, c.ImageID); err == nil {
				sum.SizeRootFs += imageSize(img)
			}
		}
		out = append(out, sum)
	}
	return out
}

// portSummaries are published ports as ps lists them, one per host port.
func portSummaries(ports []container.Port) []ctypes.PortSummary {
	out := []ctypes.PortSummary{}
	for _, p := range ports {
		ip, err := netip.ParseAddr(p.HostIP)
		if err != nil {
			ip = netip.IPv4Unspecified()
		}
		last := max(p.HostPortEnd, p.HostPort)
		for hp := p.HostPort; hp <= last; hp++ {
			out = append(out, ctypes.PortSummary{IP: ip, PrivatePort: uint16(p.Port), PublicPort: uint16(hp), Type: p.Proto})
		}
	}
	return out
}
