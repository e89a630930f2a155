package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// hubKey is the key docker stores Docker Hub's credentials under.
const hubKey = "https://index.docker.io/v1/"

// LoginResult is what Login did, as docker login reports it.
type LoginResult struct {
	Registry string // host[:port], as typed and normalised
	// Plaintext is the config.json that now holds the password (base64),
	// empty when a credential helper took it.
	Plaintext string
}

// Login checks user and pass against server's /v2/ (through the token or
// basic handshake, over Transport) and stores them as docker login does,
// with docker/cli's config package: through the credential helper that
// config.json names for the registry (credHelpers, else credsStore:
// docker-credential-NAME store), else base64 in its auths. The keychain
// pulls and pushes use (RemoteOptions) reads them back the same way.
func Login(ctx context.Context, server, user, pass string, insecure []string) (LoginResult, error) {
	key, reg, err := registryKey(server, insecure)
	if err != nil {
		return LoginResult{}, err
	}
	res := LoginResult{Registry: reg.RegistryStr()}
	if err := checkLogin(ctx, reg, user, pass, insecure); err != nil {
		return res, fmt.Errorf("login to %s: %w", reg.RegistryStr(), err)
	}
	cf, err := loadDockerConfig()
	if err != nil {
		return res, err
	}
	store := cf.GetCredentialsStore(key)
	if err := store.Store(types.AuthConfig{ServerAddress: key, Username: user, Password: pass}); err != nil {
		return res, fmt.Errorf("storing credentials: %w", err)
	}
	if cf.CredentialHelpers[key] == "" && cf.CredentialsStore == "" {
		res.Plaintext = cf.Filename
	}
	return res, nil
}

// CheckLogin asks server's /v2/ whether it accepts user and pass, as
// Login does but storing nothing (the API's /auth: docker's client keeps
// the credentials).
func CheckLogin(ctx context.Context, server, user, pass string, insecure []string) error {
	_, reg, err := registryKey(server, insecure)
	if err != nil {
		return err
	}
	if err := checkLogin(ctx, reg, user, pass, insecure); err != nil {
		return fmt.Errorf("login to %s: %w", reg.RegistryStr(), err)
	}
	return nil
}

// Logout erases server's credentials where Login stored them, through the
// same helper, under every key docker has used for the registry (host,
// http://host, https://host). It returns the registry as docker names it
// and the erase errors, which matter only when every key failed.
func Logout(server string, insecure []string) (registry string, errs []error, err error) {
	key, _, err := registryKey(server, insecure)
	if err != nil {
		return "", nil, err
	}
	cf, err := loadDockerConfig()
	if err != nil {
		return key, nil, err
	}
	keys := []string{key}
	if key != hubKey {
		keys = append(keys, "http://"+key, "https://"+key)
	}
	for _, k := range keys {
		if err := cf.GetCredentialsStore(k).Erase(k); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
		}
	}
	if len(errs) < len(keys) {
		errs = nil
	}
	return key, errs, nil
}

// loadDockerConfig reads docker's client config from $DOCKER_CONFIG, else
// ~/.docker, the directory go-containerregistry's keychain reads.
func loadDockerConfig() (*configfile.ConfigFile, error) {
	dir := os.Getenv(config.EnvOverrideConfigDir)
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(home, ".docker")
	}
	return config.Load(dir)
}

// registryKey is the key docker keeps a registry's credentials under, and
// the registry with PlainHTTP's rule applied.
func registryKey(s string, insecure []string) (string, name.Registry, error) {
	if s == "" || s == "docker.io" || s == "index.docker.io" || s == "registry-1.docker.io" {
		s = name.DefaultRegistry
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s = strings.TrimSuffix(strings.TrimSuffix(s, "/v1/"), "/")
	reg, err := Registry(s, insecure)
	if err != nil {
		return "", reg, err
	}
	if reg.RegistryStr() == name.DefaultRegistry {
		return hubKey, reg, nil
	}
	return reg.RegistryStr(), reg, nil
}

// checkLogin asks the registry's /v2/ endpoint whether user and pass are
// accepted.
func checkLogin(ctx context.Context, reg name.Registry, user, pass string, insecure []string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	auth := authn.FromConfig(authn.AuthConfig{Username: user, Password: pass})
	rt, err := transport.NewWithContext(ctx, reg, auth, Transport(insecure), nil)
	var te *transport.Error
	if errors.As(err, &te) {
		return translate(te) // refused credentials: ErrUnauthorized, ErrDenied
	}
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s/v2/", reg.Scheme(), reg.RegistryStr()), nil)
	if err != nil {
		return err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized:
		return fmt.Errorf("%w (registry answered %s)", ErrUnauthorized, resp.Status)
	case http.StatusForbidden:
		return fmt.Errorf("%w (registry answered %s)", ErrDenied, resp.Status)
	}
	return fmt.Errorf("registry answered %s", resp.Status)
}
