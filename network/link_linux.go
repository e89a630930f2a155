package network

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ensureBridge makes n's bridge exist, up, with the gateway address: made
// when missing, repaired when someone changed it.
func ensureBridge(n *Network) error {
	link, err := netlink.LinkByName(n.Bridge)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge}}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("creating bridge %s: %w", n.Bridge, err)
		}
		link, err = netlink.LinkByName(n.Bridge)
	}
	if err != nil {
		return fmt.Errorf("bridge %s: %w", n.Bridge, err)
	}
	if link.Type() != "bridge" {
		return fmt.Errorf("%s exists and is not a bridge", n.Bridge)
	}
	if err := addressBridge(link, n); err != nil {
		return err
	}
	if n.Internal {
		return nil
	}
	// Outbound traffic is routed by the host.
	if b, err := os.ReadFile(ipForward); err == nil && string(b) == "1\n" {
		return nil
	}
	return os.WriteFile(ipForward, []byte("1"), 0o644)
}

const ipForward = "/proc/sys/net/ipv4/ip_forward"

// addressBridge gives the bridge the gateway address and brings it up,
// unless it is so already (the common case: netlink writes cost more
// than reads).
func addressBridge(link netlink.Link, n *Network) error {
	want := ipNet(n.Gateway, n.Subnet.Bits())
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("bridge %s: %w", n.Bridge, err)
	}
	if !slices.ContainsFunc(addrs, func(a netlink.Addr) bool { return a.IPNet.String() == want.String() }) {
		if err := netlink.AddrReplace(link, &netlink.Addr{IPNet: want}); err != nil {
			return fmt.Errorf("addressing bridge %s: %w", n.Bridge, err)
		}
	}
	if link.Attrs().Flags&net.FlagUp != 0 {
		return nil
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("bringing up bridge %s: %w", n.Bridge, err)
	}
	return nil
}

// deleteBridge removes a bridge; a missing one is fine.
func deleteBridge(name string) error {
	link, err := netlink.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("deleting bridge %s: %w", name, err)
	}
	return nil
}

func ipNet(a netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, 32)}
}

// hostVeth names the host end of e's veth pair, one per container and
// network: "lv" and 12 hex digits of both IDs' hash.
func hostVeth(e *Endpoint) string {
	sum := sha256.Sum256([]byte(e.Container + "/" + e.Network))
	return "lv" + hex.EncodeToString(sum[:6])
}

// plumb puts e on its network inside ns as interface ifname: a veth
// pair, the host end on the bridge, the other in ns with e's address and
// MAC, and with route a default route through the gateway (never on an
// internal network).
func plumb(ns netns.NsHandle, n *Network, e *Endpoint, ifname string, route bool) error {
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return fmt.Errorf("bridge %s: %w", n.Bridge, err)
	}
	host := hostVeth(e)
	// A veth left by an earlier run whose namespace is still dying.
	if old, err := netlink.LinkByName(host); err == nil {
		_ = netlink.LinkDel(old)
	}
	mac, err := net.ParseMAC(e.MAC)
	if err != nil {
		return fmt.Errorf("mac address %q: %w", e.MAC, err)
	}
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: host, MasterIndex: br.Attrs().Index},
		PeerName:  ifname, PeerHardwareAddr: mac, PeerNamespace: netlink.NsFd(int(ns)),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("creating veth %s: %w", host, err)
	}
	if err := netlink.LinkSetUp(veth); err != nil {
		return fmt.Errorf("bringing up %s: %w", host, err)
	}
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	return configureInside(h, ifname, ipNet(e.IP, n.Subnet.Bits()), gateway(n, route))
}

// gateway is n's gateway as a default route's, nil for none.
func gateway(n *Network, route bool) net.IP {
	if !route || n.Internal {
		return nil
	}
	return n.Gateway.AsSlice()
}

// configureInside brings up lo and ifname in the container's namespace,
// gives ifname addr and, when gw is set, routes through it.
func configureInside(h *netlink.Handle, ifname string, addr *net.IPNet, gw net.IP) error {
	for _, name := range []string{"lo", ifname} {
		l, err := h.LinkByName(name)
		if err != nil {
			return fmt.Errorf("container %s: %w", name, err)
		}
		if name == ifname {
			if err := h.AddrAdd(l, &netlink.Addr{IPNet: addr}); err != nil {
				return fmt.Errorf("addressing %s: %w", ifname, err)
			}
		}
		if err := h.LinkSetUp(l); err != nil {
			return fmt.Errorf("bringing up %s: %w", name, err)
		}
		if name == ifname && gw != nil {
			if err := h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: gw}); err != nil {
				return fmt.Errorf("default route: %w", err)
			}
		}
	}
	return nil
}

// freeIfname is the first ethN that ns does not have.
func freeIfname(ns netns.NsHandle) (string, error) {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return "", err
	}
	defer h.Close()
	for i := range 64 {
		name := fmt.Sprintf("eth%d", i)
		if _, err := h.LinkByName(name); err != nil {
			return name, nil
		}
	}
	return "", errors.New("no free interface name eth0-eth63")
}

// deleteVeth removes e's veth pair, if it is still there.
func deleteVeth(e *Endpoint) error {
	link, err := netlink.LinkByName(hostVeth(e))
	if err != nil {
		return nil
	}
	return netlink.LinkDel(link)
}
