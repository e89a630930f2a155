package testutil

import (
	"fmt"
	"net"
	"net/http"
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

// ServeOnHost serves body over HTTP on HostAddr, on a free port, until the
// test ends, and returns the address and port.
func ServeOnHost(t testing.TB, body string) (host, port string) {
	t.Helper()
	ln, err := net.Listen("tcp4", net.JoinHostPort(HostAddr(t), "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	host, port, _ = net.SplitHostPort(ln.Addr().String())
	return host, port
}
