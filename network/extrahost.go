package network

import (
	"fmt"
	"net/netip"
	"strings"
)

// HostGateway is the IP --add-host accepts for "the host as the
// container reaches it" (docker's host-gateway).
const HostGateway = "host-gateway"

// ParseExtraHost checks one --add-host value, docker's NAME:IP or NAME=IP
// (the IP may be IPv6, bracketed or not, or host-gateway), and returns
// it as NAME:IP, the form containers and builds keep. It is the one
// parser of the flag: run, create, build and the API all use it.
func ParseExtraHost(s string) (string, error) {
	name, ip, ok := strings.Cut(s, "=")
	if !ok {
		// The first colon: an IPv6 address has more of them.
		name, ip, ok = strings.Cut(s, ":")
	}
	ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
	if !ok || name == "" || strings.ContainsAny(name, " \t\n:") {
		return "", fmt.Errorf("invalid --add-host %q: want NAME:IP", s)
	}
	if ip != HostGateway {
		if _, err := netip.ParseAddr(ip); err != nil {
			return "", fmt.Errorf("invalid --add-host %q: %q is not an IP address", s, ip)
		}
	}
	return name + ":" + ip, nil
}

// HostsLines are the /etc/hosts lines of NAME:IP entries, with
// host-gateway standing for gateway.
func HostsLines(hosts []string, gateway string) string {
	var b strings.Builder
	for _, h := range hosts {
		name, ip, _ := strings.Cut(h, ":")
		ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
		if ip == HostGateway {
			ip = gateway
		}
		fmt.Fprintf(&b, "%s\t%s\n", ip, name)
	}
	return b.String()
}
