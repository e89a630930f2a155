package engine

import (
	"context"
	"errors"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/signature"
)

// SignatureCheck is the pull hook (images.PullOptions.Verify) for the
// signature policy in force: the file at path, else the system's or the
// user's (signature.FindPolicy); nil when there is none. It is read at
// each pull, so an edited policy holds at once, for the CLI and for
// lade serve alike. A refusal names ref as the user wrote it.
func SignatureCheck(path, ref string, s *images.Store) (func(context.Context, name.Reference, v1.Hash) error, error) {
	path = signature.FindPolicy(path)
	if path == "" {
		return nil, nil
	}
	p, err := signature.Load(path)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, r name.Reference, d v1.Hash) error {
		err := p.Check(ctx, r, d, s.RemoteOptions(ctx)...)
		var refused *signature.Refusal
		if errors.As(err, &refused) {
			return &images.RefError{Ref: ref, Err: err}
		}
		return err
	}, nil
}
