package apiserver

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/moby/moby/api/types/registry"

	"github.com/lade-build/lade/images"
)

// registryAuth reads X-Registry-Auth, docker's AuthConfig as base64url
// JSON: the credential of this one pull or push. Without it, or with an
// empty one, the result is nil: the server user's stored credentials.
func registryAuth(r *http.Request) (authn.Authenticator, error) {
	raw := strings.TrimRight(r.Header.Get(registry.AuthHeader), "=")
	if raw == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		// Older clients padded it, some with the standard alphabet.
		b, err = base64.RawStdEncoding.DecodeString(raw)
	}
	var c registry.AuthConfig
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "invalid X-Registry-Auth header: %v", err)
	}
	cfg := authn.AuthConfig{Username: c.Username, Password: c.Password, Auth: c.Auth,
		IdentityToken: c.IdentityToken, RegistryToken: c.RegistryToken}
	if cfg == (authn.AuthConfig{}) {
		return nil, nil
	}
	return authn.FromConfig(cfg), nil
}

// login is docker login's check: the registry must accept the
// credentials; docker's client keeps them and sends them with each pull
// and push (X-Registry-Auth), so nothing is stored here.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var c registry.AuthConfig
	if err := readJSON(r, &c); err != nil {
		return err
	}
	if err := images.CheckLogin(r.Context(), c.ServerAddress, c.Username, c.Password, s.o.Insecure); err != nil {
		if errors.Is(err, images.ErrUnauthorized) || errors.Is(err, images.ErrDenied) {
			return errorf(http.StatusUnauthorized, "%v", err)
		}
		// An unreachable or broken registry is the server's failure, as
		// dockerd answers it (500), not the credentials'.
		return errorf(http.StatusInternalServerError, "%v", err)
	}
	return writeJSON(w, http.StatusOK, registry.AuthResponse{Status: "Login Succeeded"})
}
