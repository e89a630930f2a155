package testutil

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RegistryHandler is a quiet in-memory OCI registry.
func RegistryHandler() http.Handler {
	return registry.New(registry.Logger(log.New(io.Discard, "", 0)))
}

// Registry serves a RegistryHandler behind wrap (nil: none) on loopback
// until the test ends, and returns its host:port.
func Registry(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	h := RegistryHandler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// HostAddress is a non-loopback IPv4 address of this host, for registries
// that lade must not treat as loopback (always insecure).
func HostAddress(t testing.TB) net.IP {
	t.Helper()
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP
		}
	}
	Unavailable(t, "no non-loopback IPv4 address on this host")
	return nil
}

// TLSRegistry serves a RegistryHandler over TLS with httptest's
// self-signed certificate (valid for 127.0.0.1 and example.com only) on
// a host address, HostAddress, and returns its host:port.
func TLSRegistry(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	h := RegistryHandler()
	if wrap != nil {
		h = wrap(h)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(HostAddress(t).String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = l
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return l.Addr().String()
}

// RemoteImage is the image ref names in its registry.
func RemoteImage(t testing.TB, ref string) v1.Image {
	t.Helper()
	return remoteGet(t, ref, remote.Image)
}

// RemoteIndex is the image index ref names in its registry.
func RemoteIndex(t testing.TB, ref string) v1.ImageIndex {
	t.Helper()
	return remoteGet(t, ref, remote.Index)
}

func remoteGet[T any](t testing.TB, ref string, get func(name.Reference, ...remote.Option) (T, error)) T {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	v, err := get(r)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
