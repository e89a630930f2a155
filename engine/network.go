package engine

import (
	"net"
	"net/netip"

	ntypes "github.com/moby/moby/api/types/network"

	"github.com/lade-build/lade/network"
)

// NetworkSummary fills docker's record of n as network ls lists it.
func NetworkSummary(n *network.Network) ntypes.Summary {
	s := ntypes.Network{
		Name:       n.Name,
		ID:         n.ID,
		Created:    n.Created,
		Scope:      "local",
		Driver:     n.Driver,
		EnableIPv4: true,
		Internal:   n.Internal,
		Options:    map[string]string{},
		Labels:     nonNilMap(n.Labels),
	}
	// Options are the driver options given at creation, which lade's
	// networks take none of: compose 1.29 recreates a network whose
	// options differ from its file's. The default network shows its
	// bridge, as docker's shows docker0.
	if n.Default() {
		s.Options["com.docker.network.bridge.name"] = n.Bridge
	}
	s.IPAM = ntypes.IPAM{Driver: "default", Options: map[string]string{},
		Config: []ntypes.IPAMConfig{{Subnet: n.Subnet, Gateway: n.Gateway}}}
	return ntypes.Summary{Network: s}
}

// NetworkInspect fills docker's inspect record of n with its endpoints
// (eps: every endpoint of the root; those on n whose container alive says
// runs are shown).
func NetworkInspect(n *network.Network, eps []*network.Endpoint, alive func(id string) bool) ntypes.Inspect {
	out := ntypes.Inspect{Network: NetworkSummary(n).Network, Containers: map[string]ntypes.EndpointResource{}}
	for _, e := range eps {
		if e.Network != n.ID || !alive(e.Container) {
			continue
		}
		r := ntypes.EndpointResource{Name: e.Name}
		if e.IP.IsValid() {
			r.IPv4Address = netip.PrefixFrom(e.IP, n.Subnet.Bits())
		}
		if mac, err := net.ParseMAC(e.MAC); err == nil {
			r.MacAddress = ntypes.HardwareAddr(mac)
		}
		out.Containers[e.Container] = r
	}
	return out
}
