package images

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// CertsDirEnv names the variable that moves docker's certs.d root, read
// when a Transport is made (default DefaultCertsDir). Tests and rootless
// setups point it elsewhere.
const CertsDirEnv = "LADE_CERTS_D"

// DefaultCertsDir is where docker keeps per-registry TLS files.
const DefaultCertsDir = "/etc/docker/certs.d"

func certsDir() string {
	if d := os.Getenv(CertsDirEnv); d != "" {
		return d
	}
	return DefaultCertsDir
}

// Transport is the round tripper lade reaches registries through, with
// docker's TLS rules for each host: a registry PlainHTTP allows (loopback
// or --insecure-registry) is spoken to over TLS without verification
// (go-containerregistry falls back to plain http when TLS fails, as docker
// does); any other host is verified against the system roots plus the
// CAs in certs.d/HOST[:PORT]/*.crt, presenting the client certificate of
// each *.cert/*.key pair there.
func Transport(insecure []string) http.RoundTripper {
	return &hostTransport{insecure: insecure, dir: certsDir(), hosts: map[string]http.RoundTripper{}}
}

type hostTransport struct {
	insecure []string
	dir      string
	mu       sync.Mutex
	hosts    map[string]http.RoundTripper // by host[:port], built once
}

func (t *hostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt, err := t.forHost(req.URL.Host)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return rt.RoundTrip(req)
}

func (t *hostTransport) forHost(host string) (http.RoundTripper, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if rt, ok := t.hosts[host]; ok {
		return rt, nil
	}
	cfg, err := registryTLS(host, t.insecure, t.dir)
	if err != nil {
		return nil, err
	}
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	t.hosts[host] = tr
	return tr, nil
}

// registryTLS is docker's TLS configuration for host: no verification for
// an insecure registry, else certs.d's files on top of the system's.
func registryTLS(host string, insecure []string, dir string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if PlainHTTP(host, insecure) {
		cfg.InsecureSkipVerify = true
		return cfg, nil
	}
	hostDir := filepath.Join(dir, filepath.Clean("/" + host)[1:])
	entries, err := os.ReadDir(hostDir)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading registry certificates: %w", err)
	}
	for _, e := range entries {
		if err := addCertFile(cfg, hostDir, e.Name()); err != nil {
			return nil, fmt.Errorf("registry certificates for %s: %w", host, err)
		}
	}
	return cfg, nil
}

// addCertFile adds one certs.d file to cfg by docker's naming: *.crt is a
// CA, *.cert a client certificate whose key is the *.key beside it.
func addCertFile(cfg *tls.Config, dir, name string) error {
	p := filepath.Join(dir, name)
	switch filepath.Ext(name) {
	case ".crt":
		if cfg.RootCAs == nil {
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			cfg.RootCAs = pool
		}
		pem, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: no PEM certificate", p)
		}
	case ".cert":
		key := strings.TrimSuffix(p, ".cert") + ".key"
		pair, err := tls.LoadX509KeyPair(p, key)
		if err != nil {
			return fmt.Errorf("client certificate %s needs its key %s: %w", p, key, err)
		}
		cfg.Certificates = append(cfg.Certificates, pair)
	case ".key":
		cert := strings.TrimSuffix(p, ".key") + ".cert"
		if _, err := os.Stat(cert); err != nil {
			return fmt.Errorf("client key %s has no certificate %s", p, cert)
		}
	}
	return nil
}
