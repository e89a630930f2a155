package images

import (
	"context"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RemoteOptions are how lade talks to a registry, pulling or pushing:
// within ctx, with docker's credentials (config.json, read through its
// credential helpers as Login writes them), docker's TLS rules
// (Transport), lade's retries of transient failures and its user agent.
func (s *Store) RemoteOptions(ctx context.Context, more ...remote.Option) []remote.Option {
	return append([]remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(s.transport),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithRetryBackoff(s.backoff),
		remote.WithUserAgent("lade"),
	}, more...)
}

// withAuth is the option that makes auth, when not nil, the credential
// for every registry instead of docker's stored ones (the API's
// X-Registry-Auth, one request's). It is a keychain, not remote.WithAuth:
// RemoteOptions sets the stored credentials' keychain, and
// go-containerregistry refuses an authenticator beside a keychain, while
// a later keychain replaces the earlier one.
func withAuth(auth authn.Authenticator) []remote.Option {
	if auth == nil {
		return nil
	}
	return []remote.Option{remote.WithAuthFromKeychain(oneKeychain{auth})}
}

// oneKeychain answers every registry with one credential.
type oneKeychain struct{ auth authn.Authenticator }

func (k oneKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.auth, nil }

// RemoteImage returns ref's image without downloading its layers: the
// manifest and config are fetched now, each layer only when read. Used for
// --cache-from, where most layers of a shared cache are never needed.
func (s *Store) RemoteImage(ctx context.Context, ref string, insecure []string) (v1.Image, error) {
	r, err := parseRemote(ref, insecure)
	if err != nil {
		return nil, err
	}
	opts := s.RemoteOptions(ctx)
	// As in Pull: a tag's manifest is fetched by the digest HEAD announces,
	// so its bytes are checked.
	if _, ok := r.(name.Tag); ok {
		if head, err := remote.Head(r, opts...); err == nil {
			r = r.Context().Digest(head.Digest.String())
		}
	}
	img, err := remote.Image(r, opts...)
	if err != nil {
		return nil, remoteError("fetching", ref, err)
	}
	return img, nil
}
