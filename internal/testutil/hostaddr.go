package testutil

import (
	"testing"

	"github.com/vishvananda/netlink"
)

// HostAddr is a non-loopback IPv4 address of one of the host's own
// devices (not a bridge or veth): a server bound on it is reached from a
// container only through the container's network. Without one the test
// skips.
func HostAddr(t testing.TB) string {
	t.Helper()
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		l, err := netlink.LinkByIndex(a.LinkIndex)
		if err == nil && !a.IP.IsLoopback() && l.Type() == "device" {
			return a.IP.String()
		}
	}
	t.Skip("the host has no non-loopback IPv4 address of a device")
	return ""
}
