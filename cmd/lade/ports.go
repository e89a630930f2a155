package main

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/lade-build/lade/container"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, (*app).portCmd) }

// parsePort reads one -p value with one container port.
func parsePort(s string) (container.Port, error) {
	ps, err := parsePorts(s)
	if err != nil {
		return container.Port{}, err
	}
	if len(ps) != 1 {
		return container.Port{}, fmt.Errorf("invalid port %q: want one port, not a range", s)
	}
	return ps[0], nil
}

const portForms = "[[IP:][HOST-PORT[-END]]:]CONTAINER-PORT[-END][/tcp|udp]"

// parsePorts reads docker's -p forms: CTR, HOST:CTR, IP:HOST:CTR and
// IP::CTR, each with an optional /tcp or /udp, where a port may be a range
// A-B. A missing or empty host port is 0: the kernel picks a free one when
// the container starts. Container and host ranges pair up port by port and
// must be the same length, except that one container port with a host
// range takes the first free host port of the range, as with docker.
func parsePorts(s string) ([]container.Port, error) {
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
		return nil, fmt.Errorf("invalid IP address %q in %q (want %s)", ip, s, portForms)
	}
	c0, c1, err := portRange(ctr, 1)
	if err != nil {
		return nil, fmt.Errorf("invalid container port in %q (want %s)", s, portForms)
	}
	h0, h1 := 0, 0
	if host != "" {
		if h0, h1, err = portRange(host, 0); err != nil {
			return nil, fmt.Errorf("invalid host port in %q (want %s)", s, portForms)
		}
	}
	if c0 == c1 {
		p := container.Port{HostIP: ip, HostPort: h0, Port: c0, Proto: proto}
		if h1 > h0 {
			p.HostPortEnd = h1
		}
		return []container.Port{p}, nil
	}
	if host != "" && h1-h0 != c1-c0 {
		return nil, fmt.Errorf("invalid ranges in %q: the host range must be as long as the container range", s)
	}
	var ps []container.Port
	for c := c0; c <= c1; c++ {
		p := container.Port{HostIP: ip, Port: c, Proto: proto}
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

// publishedPorts turns -p values, and with -P every EXPOSEd port not
// published already, into the container's ports, -P ones on free host
// ports as docker does.
func publishedPorts(specs []string, all bool, exposed map[string]struct{}) ([]container.Port, error) {
	var ports []container.Port
	taken := map[string]bool{}
	for _, s := range specs {
		ps, err := parsePorts(s)
		if err != nil {
			return nil, fmt.Errorf("--publish: %w", err)
		}
		for _, p := range ps {
			ports = append(ports, p)
			taken[portKey(p)] = true
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
		p, err := parsePort(k)
		if err != nil || p.HostIP != "" || p.HostPort != 0 {
			return nil, fmt.Errorf("image exposes %q, which is no port", k)
		}
		if !taken[portKey(p)] {
			ports = append(ports, p)
		}
	}
	return ports, nil
}

// portKey names a container port as docker does: 80/tcp.
func portKey(p container.Port) string { return fmt.Sprintf("%d/%s", p.Port, p.Proto) }

// bindings are c's published ports as they are now: the host ports the
// kernel chose while it runs, else those of its config.
func bindings(c *container.Container) []container.Port {
	if len(c.State.Ports) > 0 {
		return c.State.Ports
	}
	return c.Ports
}

func (a *app) portCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List a container's published ports, or the host address of one",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, c, err := a.container(args[0])
			if err != nil {
				return err
			}
			var want string
			if len(args) == 2 {
				p, err := parsePort(args[1])
				if err != nil || p.HostPort != 0 || p.HostIP != "" {
					return fmt.Errorf("invalid port %q: want PRIVATE_PORT[/tcp|udp]", args[1])
				}
				want = portKey(p)
			}
			// Only a container that is up has its ports published.
			up := len(c.State.Ports) > 0 || c.State.Status == container.StatusRunning || c.State.Status == container.StatusRestarting
			if !up {
				if want != "" {
					return a.failed(fmt.Errorf("no public port '%s' published for %s", want, args[0]))
				}
				return nil
			}
			found := false
			for _, p := range bindings(c) {
				key := portKey(p)
				if want != "" && key != want {
					continue
				}
				found = true
				ip := p.HostIP
				if ip == "" {
					ip = "0.0.0.0"
				}
				addr := net.JoinHostPort(ip, strconv.Itoa(p.HostPort))
				if want != "" {
					fmt.Fprintln(a.stdout, addr)
				} else {
					fmt.Fprintf(a.stdout, "%s -> %s\n", key, addr)
				}
			}
			if want != "" && !found {
				return a.failed(fmt.Errorf("no public port '%s' published for %s", want, args[0]))
			}
			return nil
		},
	}
}
