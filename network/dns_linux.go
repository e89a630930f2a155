package network

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/vishvananda/netns"

	"github.com/lade-build/lade/internal/osthread"
)

// DNSAddr is where the embedded DNS server listens in a container.
const DNSAddr = "127.0.0.11"

// dnsServer answers a container's queries for the names on its network
// and forwards the others to upstream servers from the host's namespace.
type dnsServer struct {
	store     *Store
	container string // ID: names on every network it is on resolve
	upstream  []string
	servers   []*dns.Server
}

// StartDNS serves DNS on 127.0.0.11:53 (udp and tcp) inside the
// attachment's namespace until Detach, forwarding to upstream (host:port
// or address).
func (a *Attachment) StartDNS(upstream []string) error {
	udp, tcp, err := listenIn(a.ns, net.JoinHostPort(DNSAddr, "53"))
	if err != nil {
		return fmt.Errorf("embedded DNS server: %w", err)
	}
	d := &dnsServer{store: a.store, container: a.Endpoint.Container}
	for _, u := range upstream {
		if _, _, err := net.SplitHostPort(u); err != nil {
			u = net.JoinHostPort(u, "53")
		}
		d.upstream = append(d.upstream, u)
	}
	d.servers = []*dns.Server{{PacketConn: udp, Handler: d}, {Listener: tcp, Handler: d}}
	for _, srv := range d.servers {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
	}
	a.dns = d
	return nil
}

// listenIn opens udp and tcp sockets on addr on a thread inside ns;
// sockets keep their namespace, so they are served from any thread.
func listenIn(ns netns.NsHandle, addr string) (pc net.PacketConn, l net.Listener, err error) {
	osthread.Run(func() {
		if err = netns.Set(ns); err != nil {
			return
		}
		if pc, err = net.ListenPacket("udp4", addr); err != nil {
			return
		}
		if l, err = net.Listen("tcp4", addr); err != nil {
			pc.Close()
		}
	})
	return pc, l, err
}

func (d *dnsServer) stop() {
	for _, srv := range d.servers {
		_ = srv.Shutdown()
	}
}

// ServeDNS answers A (and AAAA, with no address) queries for a name on
// the network, and forwards everything else.
func (d *dnsServer) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	if len(r.Question) == 1 && (r.Question[0].Qtype == dns.TypeA || r.Question[0].Qtype == dns.TypeAAAA) {
		if ips := d.lookup(r.Question[0].Name); len(ips) > 0 {
			m := new(dns.Msg)
			m.SetReply(r)
			m.Authoritative = true
			for _, ip := range ips {
				if r.Question[0].Qtype == dns.TypeA {
					hdr := dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 600}
					m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: ip})
				}
			}
			_ = w.WriteMsg(m)
			return
		}
	}
	_ = w.WriteMsg(d.forward(w, r))
}

// lookup is the addresses, on the user-defined networks the container is
// on, of the endpoints named name: by container name, alias or short ID.
func (d *dnsServer) lookup(name string) []net.IP {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	st, err := d.store.read()
	if err != nil {
		return nil
	}
	var out []net.IP
	for _, mine := range st.containerEndpoints(d.container) {
		if n := st.find(mine.Network); n == nil || n.Default() {
			continue
		}
		for _, e := range st.endpoints(mine.Network) {
			if strings.EqualFold(e.Name, name) || (len(e.Container) >= 12 && e.Container[:12] == name) || containsFold(e.Aliases, name) {
				out = append(out, e.IP.AsSlice())
			}
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// forward asks each upstream server in turn, over the query's transport.
func (d *dnsServer) forward(w dns.ResponseWriter, r *dns.Msg) *dns.Msg {
	c := &dns.Client{Net: "udp", Timeout: 3 * time.Second}
	if _, ok := w.LocalAddr().(*net.TCPAddr); ok {
		c.Net = "tcp"
	}
	for _, u := range d.upstream {
		if resp, _, err := c.Exchange(r, u); err == nil {
			return resp
		}
	}
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeServerFailure)
	return m
}
