package container

import (
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
)

// ParsePort reads one -p value with one container port.
func ParsePort(s string) (Port, error) {
	ps, err := ParsePorts(s)
	if err != nil {
		return Port{}, err
	}
	if len(ps) != 1 {
		return Port{}, fmt.Errorf("invalid port %q: want one port, not a range", s)
	}
	return ps[0], nil
}

// PortForms are the -p forms ParsePorts reads, for error messages.
const PortForms = "[[IP:][HOST-PORT[-END]]:]CONTAINER-PORT[-END][/tcp|udp]"

// ParsePorts reads docker's -p forms: CTR, HOST:CTR, IP:HOST:CTR and
// IP::CTR, each with an optional /tcp or /udp, where a port may be a range
// A-B. A missing or empty host port is 0: the kernel picks a free one when
// the container starts. Container and host ranges pair up port by port and
// must be the same length, except that one container port with a host
// range takes the first free host port of the range, as with docker.
func ParsePorts(s string) ([]Port, error) {
	proto := "tcp"
	spec, pr, ok := strings.Cut(s, "/")
	if ok {
		if pr != "tcp" && pr != "udp" {
			return nil, fmt.Errorf("invalid port %q: protocol must be tcp or udp", s)
		}
		proto = pr
	}
	ip, host, ctr := "", "", spec
	if i := strings.LastIndex(spec, ":"); i >= 0 {
		ctr = spec[i+1:]
		rest := spec[:i]
		if j := strings.LastIndex(rest, ":"); j >= 0 {
			ip, host = strings.Trim(rest[:j], "[]"), rest[j+1:]
		} else {
			host = rest
		}
	}
	if ip != "" && net.ParseIP(ip) == nil {
		return nil, fmt.Errorf("invalid IP address %q in %q (want %s)", ip, s, PortForms)
	}
	c0, c1, err := portRange(ctr, 1)
	if err != nil {
		return nil, fmt.Errorf("invalid container port in %q (want %s)", s, PortForms)
	}
	h0, h1 := 0, 0
	if host != "" {
		if h0, h1, err = portRange(host, 0); err != nil {
			return nil, fmt.Errorf("invalid host port in %q (want %s)", s, PortForms)
		}
	}
	if c0 == c1 {
		p := Port{HostIP: ip, HostPort: h0, Port: c0, Proto: proto}
		if h1 > h0 {
			p.HostPortEnd = h1
		}
		return []Port{p}, nil
	}
	if host != "" && h1-h0 != c1-c0 {
		return nil, fmt.Errorf("invalid ranges in %q: the host range must be as long as the container range", s)
	}
	var ps []Port
	for c := c0; c <= c1; c++ {
		p := Port{HostIP: ip, Port: c, Proto: proto}
		if host != "" {
			p.HostPort = h0 + c - c0
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// portRange parses "N" or "A-B" (A <= B), every port at least min.
func portRange(s string, min int) (int, int, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a < min || a > 65535 {
		return 0, 0, fmt.Errorf("bad port %q", s)
	}
	if !isRange {
		return a, a, nil
	}
	b, err := strconv.Atoi(hi)
	if err != nil || b < a || b > 65535 || a == 0 {
		return 0, 0, fmt.Errorf("bad port range %q", s)
	}
	return a, b, nil
}

// PublishedPorts turns -p values, and with -P every EXPOSEd port not
// published already, into the container's ports, -P ones on free host
// ports as docker does.
func PublishedPorts(specs []string, all bool, exposed map[string]struct{}) ([]Port, error) {
	var ports []Port
	taken := map[string]bool{}
	for _, s := range specs {
		ps, err := ParsePorts(s)
		if err != nil {
			return nil, fmt.Errorf("--publish: %w", err)
		}
		for _, p := range ps {
			ports = append(ports, p)
			taken[p.Key()] = true
		}
	}
	if !all {
		return ports, nil
	}
	keys := make([]string, 0, len(exposed))
	for k := range exposed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, err := ParsePort(k)
		if err != nil || p.HostIP != "" || p.HostPort != 0 {
			return nil, fmt.Errorf("image exposes %q, which is no port", k)
		}
		if !taken[p.Key()] {
			ports = append(ports, p)
		}
	}
	return ports, nil
}

// HostAddrs are the host addresses p is published on, as docker's port
// lists them: without an IP, 0.0.0.0 and, where the host has IPv6 (the
// proxy then listens on both), [::].
func (p Port) HostAddrs() []string {
	port := strconv.Itoa(p.HostPort)
	if p.HostIP != "" {
		return []string{net.JoinHostPort(p.HostIP, port)}
	}
	addrs := []string{net.JoinHostPort("0.0.0.0", port)}
	if hostIPv6() {
		addrs = append(addrs, net.JoinHostPort("::", port))
	}
	return addrs
}

// hostIPv6 says whether the host has IPv6 (an address on some interface).
func hostIPv6() bool {
	b, err := os.ReadFile("/proc/net/if_inet6")
	return err == nil && len(b) > 0
}

// Key names the container port as docker does: 80/tcp.
func (p Port) Key() string { return fmt.Sprintf("%d/%s", p.Port, p.Proto) }

// Bindings are c's published ports as they are now: the host ports the
// kernel chose while it runs, else those of its config.
func (c *Container) Bindings() []Port {
	if len(c.State.Ports) > 0 {
		return c.State.Ports
	}
	return c.Ports
}
