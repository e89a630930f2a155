package network

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// pools are docker's default address pools, in its order: 172.17-31/16,
// then 192.168.x.0/24 (docker uses /20s of 192.168/16; /24s go further).
func pools() []netip.Prefix {
	var out []netip.Prefix
	for b := 17; b <= 31; b++ {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(b), 0, 0}), 16))
	}
	for c := 0; c <= 255; c++ {
		out = append(out, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(c), 0}), 24))
	}
	return out
}

// addressing is o's subnet and gateway, or a free pool and its first
// address.
func addressing(st *state, o CreateOptions) (netip.Prefix, netip.Addr, error) {
	used, err := usedPrefixes(st)
	if err != nil {
		return netip.Prefix{}, netip.Addr{}, err
	}
	var subnet netip.Prefix
	if o.Subnet != "" {
		if subnet, err = netip.ParsePrefix(o.Subnet); err != nil || !subnet.Addr().Is4() {
			return subnet, netip.Addr{}, fmt.Errorf("invalid subnet %q: want an IPv4 CIDR", o.Subnet)
		}
		subnet = subnet.Masked()
		if subnet.Bits() > 30 {
			return subnet, netip.Addr{}, fmt.Errorf("subnet %s is too small", subnet)
		}
		for _, n := range st.Networks {
			if n.Subnet.Overlaps(subnet) {
				return subnet, netip.Addr{}, fmt.Errorf("subnet %s overlaps network %s (%s)", subnet, n.Name, n.Subnet)
			}
		}
	} else if subnet, err = freePool(used); err != nil {
		return subnet, netip.Addr{}, err
	}
	gw := subnet.Addr().Next()
	if o.Gateway != "" {
		if gw, err = netip.ParseAddr(o.Gateway); err != nil || !subnet.Contains(gw) {
			return subnet, gw, fmt.Errorf("gateway %q is not an address of %s", o.Gateway, subnet)
		}
	}
	return subnet, gw, nil
}

// usedPrefixes are the networks' subnets and the host's IPv4 routes.
func usedPrefixes(st *state) ([]netip.Prefix, error) {
	var used []netip.Prefix
	for _, n := range st.Networks {
		used = append(used, n.Subnet)
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("listing routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue // the default route overlaps everything
		}
		ones, _ := r.Dst.Mask.Size()
		if ones == 0 {
			continue // a default route, however spelt
		}
		if a, ok := netip.AddrFromSlice(r.Dst.IP.To4()); ok {
			used = append(used, netip.PrefixFrom(a, ones))
		}
	}
	return used, nil
}

func freePool(used []netip.Prefix) (netip.Prefix, error) {
	for _, p := range pools() {
		free := true
		for _, u := range used {
			if u.Overlaps(p) {
				free = false
				break
			}
		}
		if free {
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("no free address pool: all of 172.17-31.0.0/16 and 192.168.0-255.0/24 are in use")
}

// allocate is the first address of n after the last one it gave out
// (wrapping round) that is not its network, broadcast or gateway address
// nor held by an endpoint. Not the lowest free one, as docker: a stopped
// container's veth lingers on the bridge until the kernel has destroyed
// its namespace, and a new one with its address and MAC would fight it.
func allocate(st *state, n *Network) (netip.Addr, error) {
	taken := map[netip.Addr]bool{n.Gateway: true}
	for _, e := range st.endpoints(n.ID) {
		taken[e.IP] = true
	}
	first := n.Subnet.Addr().Next()
	start := st.Next[n.ID]
	if !n.Subnet.Contains(start) {
		start = first
	}
	a := start
	for {
		if !taken[a] && n.Subnet.Contains(a.Next()) {
			if st.Next == nil {
				st.Next = map[string]netip.Addr{}
			}
			st.Next[n.ID] = a.Next()
			return a, nil
		}
		if a = a.Next(); !n.Subnet.Contains(a) {
			a = first
		}
		if a == start {
			return netip.Addr{}, fmt.Errorf("network %s has no free address", n.Name)
		}
	}
}

// macFor is docker's MAC for an address: 02:42 then the IPv4 bytes.
func macFor(a netip.Addr) string {
	b := a.As4()
	return fmt.Sprintf("02:42:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}
