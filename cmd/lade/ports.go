package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/lade-build/lade/container"
	"github.com/spf13/cobra"
)

func init() { commands = append(commands, (*app).portCmd) }

// parsePort reads docker's -p forms: CTR, HOST:CTR, IP:HOST:CTR and
// IP::CTR, each with an optional /tcp or /udp. A missing or empty host
// port is 0: the kernel picks a free one when the container starts.
func parsePort(s string) (container.Port, error) {
	p := container.Port{Proto: "tcp"}
	spec, proto, ok := strings.Cut(s, "/")
	if ok {
		if proto != "tcp" && proto != "udp" {
			return p, fmt.Errorf("invalid port %q: protocol must be tcp or udp", s)
		}
		p.Proto = proto
	}
	host, ctr := "", spec
	if i := strings.LastIndex(spec, ":"); i >= 0 {
		ctr = spec[i+1:]
		rest := spec[:i]
		if j := strings.LastIndex(rest, ":"); j >= 0 {
			p.HostIP, host = strings.Trim(rest[:j], "[]"), rest[j+1:]
		} else {
			host = rest
		}
	}
	if host != "" {
		var err error
		if p.HostPort, err = strconv.Atoi(host); err != nil || p.HostPort < 0 || p.HostPort > 65535 {
			return p, fmt.Errorf("invalid host port in %q (want [[IP:]HOST-PORT:]CONTAINER-PORT[/tcp|udp]; ranges are not supported)", s)
		}
	}
	var err error
	if p.Port, err = strconv.Atoi(ctr); err != nil || p.Port <= 0 || p.Port > 65535 {
		return p, fmt.Errorf("invalid container port in %q (want [[IP:]HOST-PORT:]CONTAINER-PORT[/tcp|udp]; ranges are not supported)", s)
	}
	return p, nil
}

// publishedPorts turns -p values, and with -P every EXPOSEd port not
// published already, into the container's ports, -P ones on free host
// ports as docker does.
func publishedPorts(specs []string, all bool, exposed map[string]struct{}) ([]container.Port, error) {
	var ports []container.Port
	taken := map[string]bool{}
	for _, s := range specs {
		p, err := parsePort(s)
		if err != nil {
			return nil, err
		}
		ports = append(ports, p)
		taken[portKey(p)] = true
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
				addr := fmt.Sprintf("%s:%d", ip, p.HostPort)
				if strings.Contains(ip, ":") {
					addr = fmt.Sprintf("[%s]:%d", ip, p.HostPort)
				}
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
