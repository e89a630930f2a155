package network

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// dnatRules publish endpoints' ports by kernel DNAT, as docker does with
// its userland proxy on: for a port on every address (HostIP empty or
// 0.0.0.0) or on one non-loopback IPv4 address of the host, traffic to it
// is sent to the endpoint's address and port, in prerouting for what comes
// in from outside and in output for the host's own connections. Loopback
// and IPv6 binds, and connections from containers (in by a bridge: lade*
// or br-*), are not DNATed: they reach the userspace proxy that listens on
// every published port.
func dnatRules(st *state) []nftRule {
	var out []nftRule
	st.eachDNAT(func(e *Endpoint, p PortMap) {
		match, _ := hostMatch(p.HostIP)
		tag := fmt.Sprintf("%s %s:%d %s:%d", p.Proto, p.HostIP, p.HostPort, e.IP, p.Port)
		to := rule(portMatch(p.Proto, p.HostPort), dnatTo(e.IP, p.Port))
		out = append(out,
			nftRule{"prerouting", "dnat-in " + tag, rule(ifPrefix(expr.MetaKeyIIFNAME, "lade"), ifPrefix(expr.MetaKeyIIFNAME, "br-"), match, to)},
			nftRule{"output", "dnat-out " + tag, rule(match, notLoopback(), to)})
	})
	return out
}

// eachDNAT calls fn for each published port that gets DNAT: on an
// endpoint of a non-internal network, bound where hostMatch matches.
func (st *state) eachDNAT(fn func(*Endpoint, PortMap)) {
	for _, e := range st.Endpoints {
		n := st.find(e.Network)
		if n == nil || n.Internal {
			continue
		}
		for _, p := range e.Ports {
			if _, ok := hostMatch(p.HostIP); ok {
				fn(e, p)
			}
		}
	}
}

// hostMatch matches the destination of a port bound on hostIP; false for
// binds that only the proxy serves (loopback, IPv6).
func hostMatch(hostIP string) ([]expr.Any, bool) {
	if hostIP == "" || hostIP == "0.0.0.0" {
		return []expr.Any{
			&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.NativeEndian.AppendUint32(nil, unix.RTN_LOCAL)},
		}, true
	}
	ip, err := netip.ParseAddr(hostIP)
	if err != nil || !ip.Is4() || ip.IsLoopback() {
		return nil, false
	}
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ip.AsSlice()},
	}, true
}

// portMatch matches the transport protocol and destination port.
func portMatch(proto string, port int) []expr.Any {
	l4 := byte(unix.IPPROTO_TCP)
	if proto == "udp" {
		l4 = unix.IPPROTO_UDP
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{l4}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, uint16(port))},
	}
}

// notLoopback matches a destination outside 127.0.0.0/8.
func notLoopback() []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{127}},
	}
}

// ifPrefix matches an interface name not starting with prefix.
func ifPrefix(key expr.MetaKey, prefix string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte(prefix)},
	}
}

// dnatTo sends the packet to ip:port.
func dnatTo(ip netip.Addr, port int) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: ip.AsSlice()},
		&expr.Immediate{Register: 2, Data: binary.BigEndian.AppendUint16(nil, uint16(port))},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
}
