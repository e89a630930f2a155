package apiserver

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-connections/tlsconfig"
)

// DefaultHost is where lade serve listens without -H.
const DefaultHost = "unix:///run/lade/lade.sock"

const (
	shutdownGrace     = 10 * time.Second // requests in flight finish
	readHeaderTimeout = time.Minute
	socketGroup       = "lade" // as docker's group: its members reach the socket
)

// Listener is an open -H address.
type Listener struct {
	Host string // as given to Listen
	net.Listener
}

// TLSOptions are dockerd's --tlsverify, --tlscacert, --tlscert, --tlskey.
type TLSOptions struct {
	Verify            bool
	CACert, Cert, Key string
}

// Config is the TLS config the options ask for; nil without TLS.
// With Verify, clients must present a certificate signed by CACert.
func (o TLSOptions) Config() (*tls.Config, error) {
	if !o.Verify && o.Cert == "" && o.Key == "" {
		return nil, nil
	}
	opts := tlsconfig.Options{CertFile: o.Cert, KeyFile: o.Key}
	if o.Verify {
		if o.CACert == "" {
			return nil, errors.New("--tlsverify needs --tlscacert, the CA that signs the clients' certificates")
		}
		opts.CAFile, opts.ClientAuth, opts.ExclusiveRootPools = o.CACert, tls.RequireAndVerifyClientCert, true
	}
	return tlsconfig.Server(opts)
}

// Listen opens host, unix://PATH or tcp://HOST:PORT. A TCP address beyond
// loopback is refused without TLS, as dockerd refuses it: anyone reaching
// the port would be root on this machine.
func Listen(host string, tlsConf *tls.Config) (Listener, error) {
	proto, addr, ok := strings.Cut(host, "://")
	if !ok {
		return Listener{}, fmt.Errorf("invalid -H %q: want unix://PATH or tcp://HOST:PORT", host)
	}
	var l net.Listener
	var err error
	switch proto {
	case "unix":
		l, err = listenUnix(addr)
	case "tcp":
		if tlsConf == nil && !loopback(addr) {
			return Listener{}, fmt.Errorf("refusing to serve %s without TLS: it is reachable beyond this host (use --tlsverify, or a loopback address)", host)
		}
		l, err = net.Listen("tcp", addr)
		if err == nil && tlsConf != nil {
			l = tls.NewListener(l, tlsConf)
		}
	default:
		return Listener{}, fmt.Errorf("invalid -H %q: protocol %s is not unix or tcp", host, proto)
	}
	if err != nil {
		return Listener{}, err
	}
	return Listener{Host: host, Listener: l}, nil
}

// loopback says whether addr's host is a loopback address or localhost.
func loopback(addr string) bool {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// listenUnix makes the socket at path (replacing a stale one) readable
// and writable by root and the lade group only.
func listenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	gid := -1
	if g, err := user.LookupGroup(socketGroup); err == nil {
		gid, _ = strconv.Atoi(g.Gid)
	}
	if err := os.Chown(path, -1, gid); err != nil {
		l.Close()
		return nil, err
	}
	if err := os.Chmod(path, 0o660); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}
