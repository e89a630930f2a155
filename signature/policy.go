package signature

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	sigs "github.com/sigstore/sigstore/pkg/signature"
)

// SystemPolicy is read when no policy is named, then UserPolicy.
const (
	SystemPolicy = "/etc/containers/policy.json"
	UserPolicy   = ".config/containers/policy.json" // under $HOME
)

// Policy is a containers-policy.json; lade reads its default and its
// docker transport.
type Policy struct {
	Default    []Requirement                       `json:"default"`
	Transports map[string]map[string][]Requirement `json:"transports"`
}

// Requirement is one entry of a scope's list; all must accept an image.
type Requirement struct {
	Type           string          `json:"type"`
	KeyPath        string          `json:"keyPath"`
	KeyPaths       []string        `json:"keyPaths"`
	KeyData        []byte          `json:"keyData"` // base64 of a PEM key, as in the file
	KeyDatas       [][]byte        `json:"keyDatas"`
	Fulcio         json.RawMessage `json:"fulcio"`
	PKI            json.RawMessage `json:"pki"`
	SignedIdentity *struct {
		Type string `json:"type"`
	} `json:"signedIdentity"`
}

// Refusal is the policy's no: which scope said it, and why.
type Refusal struct {
	Scope string // the docker transport's scope key, "" for its own default, or "default"
	Err   error
}

func (r *Refusal) Error() string {
	switch r.Scope {
	case "default":
		return "refused by the default signature policy: " + r.Err.Error()
	case "":
		return "refused by the docker transport's signature policy: " + r.Err.Error()
	}
	return fmt.Sprintf("refused by signature policy for %q: %s", r.Scope, r.Err)
}

func (r *Refusal) Unwrap() error { return r.Err }

// FindPolicy names the policy in force: file when given, else the system
// one, else the user's; "" when there is none (everything is accepted).
func FindPolicy(file string) string {
	if file != "" {
		return file
	}
	for _, p := range []string{SystemPolicy, filepath.Join(os.Getenv("HOME"), UserPolicy)} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Load reads and parses a policy file. As containers/image, it needs a
// default requirement list.
func Load(path string) (*Policy, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading signature policy: %w", err)
	}
	var p Policy
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("signature policy %s: %w", path, err)
	}
	if len(p.Default) == 0 {
		return nil, fmt.Errorf("signature policy %s: no default requirement", path)
	}
	return &p, nil
}

// Check evaluates the requirements of the most specific scope for ref
// against manifest d (the digest ref resolves to); opts reach ref's
// registry for its signatures.
func (p *Policy) Check(ctx context.Context, ref name.Reference, d v1.Hash, opts ...remote.Option) error {
	scope, reqs := p.Scope(ref)
	for _, r := range reqs {
		if err := r.check(ctx, ref.Context(), d, opts); err != nil {
			return &Refusal{Scope: scope, Err: err}
		}
	}
	return nil
}

// Scope returns the scope whose requirements apply to ref and those
// requirements: the docker transport's most specific match (the
// reference itself, then its repository, its namespaces, its registry,
// then *.domain wildcards, then the transport's ""), else "default".
func (p *Policy) Scope(ref name.Reference) (string, []Requirement) {
	scopes := p.Transports["docker"]
	for _, s := range candidates(ref) {
		if reqs, ok := scopes[s]; ok {
			return s, reqs
		}
	}
	return "default", p.Default
}

// candidates lists ref's scopes, most specific first.
func candidates(ref name.Reference) []string {
	host := ref.Context().RegistryStr()
	if host == name.DefaultRegistry {
		host = "docker.io" // as containers/image spells Docker Hub
	}
	repo := host + "/" + ref.Context().RepositoryStr()
	sep := ":"
	if _, ok := ref.(name.Digest); ok {
		sep = "@"
	}
	out := []string{repo + sep + ref.Identifier()}
	for s := repo; ; {
		out = append(out, s)
		i := strings.LastIndexByte(s, '/')
		if i < 0 {
			break
		}
		s = s[:i]
	}
	if !strings.Contains(host, ":") {
		for labels := strings.Split(host, "."); len(labels) > 1; labels = labels[1:] {
			out = append(out, "*."+strings.Join(labels[1:], "."))
		}
	}
	return append(out, "")
}

// check applies one requirement.
func (r Requirement) check(ctx context.Context, repo name.Repository, d v1.Hash, opts []remote.Option) error {
	switch r.Type {
	case "insecureAcceptAnything":
		return nil
	case "reject":
		return errors.New("images are rejected")
	case "sigstoreSigned":
		vs, err := r.verifiers()
		if err != nil {
			return err
		}
		ps, err := Verify(ctx, repo, d, vs, opts...)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if sameRepository(p.Critical.Identity.DockerReference, repo) {
				return nil
			}
		}
		return fmt.Errorf("%w: signed for %s, not %s", ErrNoValidSignature, ps[0].Critical.Identity.DockerReference, repo)
	}
	return fmt.Errorf("requirement type %q is not supported", r.Type)
}

// verifiers loads the requirement's public keys. Keyless (fulcio) and PKI
// requirements are refused: lade checks key-based signatures only.
func (r Requirement) verifiers() ([]sigs.Verifier, error) {
	if r.Fulcio != nil || r.PKI != nil {
		return nil, errors.New("keyless (fulcio/pki) sigstoreSigned requirements are not supported")
	}
	if id := r.SignedIdentity; id != nil && id.Type != "matchRepository" && id.Type != "matchRepoDigestOrExact" {
		return nil, fmt.Errorf("signedIdentity %q is not supported", id.Type)
	}
	datas := append([][]byte{}, r.KeyDatas...)
	if r.KeyData != nil {
		datas = append(datas, r.KeyData)
	}
	for _, path := range append(r.KeyPaths, r.KeyPath) {
		if path == "" {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading public key: %w", err)
		}
		datas = append(datas, b)
	}
	if len(datas) == 0 {
		return nil, errors.New("sigstoreSigned requirement names no key")
	}
	vs := make([]sigs.Verifier, 0, len(datas))
	for _, b := range datas {
		v, err := LoadVerifier(b)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// sameRepository tells whether a payload's docker-reference (a repository,
// or cosign's reference with a tag or digest) names repo.
func sameRepository(claimed string, repo name.Repository) bool {
	r, err := name.ParseReference(claimed)
	if err != nil {
		return false
	}
	return r.Context().Name() == repo.Name()
}
