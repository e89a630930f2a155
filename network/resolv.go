package network

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// ResolvOptions say how a container's /etc/resolv.conf is made.
type ResolvOptions struct {
	// HostNetwork keeps the host's servers as they are, loopback ones too.
	HostNetwork bool
	// Embedded points the container at the embedded DNS server and lists
	// the real servers (Upstream) for it to forward to.
	Embedded             bool
	DNS, Search, Options []string // --dns, --dns-search, --dns-option
}

// Resolv is a container's resolv.conf and, with Embedded, the servers the
// embedded server forwards to.
type Resolv struct {
	Content  string
	Upstream []string
}

// systemdResolv lists systemd-resolved's real upstream servers, for
// containers that cannot reach its 127.0.0.53 stub.
const systemdResolv = "/run/systemd/resolve/resolv.conf"

// fallbackDNS is docker's choice when the host has only loopback servers.
var fallbackDNS = []string{"8.8.8.8", "8.8.4.4"}

// ResolvConf makes a container's resolv.conf from the host's and o.
func ResolvConf(o ResolvOptions) (Resolv, error) {
	host, err := readResolv("/etc/resolv.conf")
	if err != nil {
		return Resolv{}, err
	}
	if !o.HostNetwork && !o.Embedded && onlyLoopback(host.servers) {
		if real, err := readResolv(systemdResolv); err == nil && len(real.servers) > 0 {
			host.servers = real.servers
		}
	}
	return makeResolv(host, o), nil
}

// makeResolv lays o over the host's settings. Off the host's network the
// container cannot reach the host's loopback servers (the embedded server
// can: it forwards from the host's namespace).
func makeResolv(host resolvConf, o ResolvOptions) Resolv {
	servers, search, opts := pick(o.DNS, host.servers), pick(o.Search, host.search), pick(o.Options, host.options)
	if !o.HostNetwork && !o.Embedded {
		servers = withoutLoopback(servers)
		if len(servers) == 0 {
			servers = fallbackDNS
		}
	}
	var b strings.Builder
	r := Resolv{}
	if o.Embedded {
		r.Upstream = servers
		fmt.Fprintf(&b, "nameserver %s\n", DNSAddr)
	} else {
		for _, s := range servers {
			fmt.Fprintf(&b, "nameserver %s\n", s)
		}
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(opts) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(opts, " "))
	}
	if o.Embedded {
		fmt.Fprintf(&b, "# ExtServers: [%s]\n", strings.Join(servers, " "))
	}
	r.Content = b.String()
	return r
}

func pick(flag, host []string) []string {
	if len(flag) > 0 {
		return flag
	}
	return host
}

type resolvConf struct{ servers, search, options []string }

// readResolv reads the nameserver, search and options lines of a
// resolv.conf; a missing file is an empty one.
func readResolv(path string) (resolvConf, error) {
	var rc resolvConf
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return rc, nil
	}
	if err != nil {
		return rc, fmt.Errorf("reading %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			rc.servers = append(rc.servers, f[1])
		case "search", "domain":
			rc.search = f[1:]
		case "options":
			rc.options = append(rc.options, f[1:]...)
		}
	}
	return rc, sc.Err()
}

func isLoopback(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.IsLoopback()
}

func onlyLoopback(servers []string) bool {
	for _, s := range servers {
		if !isLoopback(s) {
			return false
		}
	}
	return len(servers) > 0
}

func withoutLoopback(servers []string) []string {
	var out []string
	for _, s := range servers {
		if !isLoopback(s) {
			out = append(out, s)
		}
	}
	return out
}
