package images

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
)

// ErrInvalidReference marks a name that docker's reference grammar
// rejects.
var ErrInvalidReference = errors.New("invalid reference format")

// ParseReference is the one gate every image name from outside passes
// before it reaches a registry or the store. go-containerregistry accepts
// any run of [a-z0-9_./-] as a repository, so "reg/../../x" would become a
// request outside /v2/; docker's grammar (distribution/reference) allows
// only alphanumeric path components joined by single separators, and
// checks a digest's algorithm and length. A bare name gets ":latest".
func ParseReference(ref string) (name.Reference, error) {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, invalidReference(ref, err)
	}
	n = reference.TagNameOnly(n)
	r, err := name.ParseReference(n.String(), name.StrictValidation)
	if err != nil {
		return nil, invalidReference(ref, err)
	}
	return r, nil
}

// ParseTag is ParseReference for a name that is to be stored or pushed:
// it takes a tag, not a digest.
func ParseTag(ref string) (name.Tag, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return name.Tag{}, err
	}
	t, ok := r.(name.Tag)
	if !ok {
		return name.Tag{}, &RefError{Ref: fmt.Sprintf("%q", ref), Err: fmt.Errorf("%w: a digest reference cannot be used as a tag", ErrInvalidReference)}
	}
	return t, nil
}

// invalidReference keeps the grammar's reason ("must be lowercase") but
// says it once, after the name.
func invalidReference(ref string, err error) error {
	msg := strings.TrimPrefix(err.Error(), ErrInvalidReference.Error())
	msg = strings.TrimPrefix(msg, ": ")
	if msg == "" {
		return &RefError{Ref: fmt.Sprintf("%q", ref), Err: ErrInvalidReference}
	}
	return &RefError{Ref: fmt.Sprintf("%q", ref), Err: fmt.Errorf("%w: %s", ErrInvalidReference, msg)}
}

// PlainHTTP is lade's one rule for which registries are spoken to over
// plain http: loopback ones (127.0.0.0/8, ::1, localhost), as docker
// does, and each --insecure-registry entry, given with or without the
// port. host is a registry as it appears in a reference (host[:port]).
func PlainHTTP(host string, insecure []string) bool {
	bare := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		bare = h
	}
	bare = strings.Trim(bare, "[]")
	if bare == "localhost" {
		return true
	}
	if ip := net.ParseIP(bare); ip != nil && ip.IsLoopback() {
		return true
	}
	return slices.Contains(insecure, host) || slices.Contains(insecure, bare)
}

// Registry parses a registry host for login, with PlainHTTP's rule.
func Registry(host string, insecure []string) (name.Registry, error) {
	var opts []name.Option
	if PlainHTTP(host, insecure) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return reg, fmt.Errorf("invalid registry %q: %w", host, err)
	}
	return reg, nil
}

// parseRemote is ParseReference with PlainHTTP's rule applied.
func parseRemote(ref string, insecure []string) (name.Reference, error) {
	r, err := ParseReference(ref)
	if err != nil || !PlainHTTP(r.Context().RegistryStr(), insecure) {
		return r, err
	}
	return name.ParseReference(r.String(), name.Insecure)
}

// ParseRemote is ParseReference with PlainHTTP's rule applied, for
// commands that speak to a registry themselves.
func ParseRemote(ref string, insecure []string) (name.Reference, error) {
	return parseRemote(ref, insecure)
}
