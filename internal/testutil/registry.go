package testutil

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
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
