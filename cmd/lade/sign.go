package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/signature"
)

func init() {
	commands = append(commands, (*app).signCmd, (*app).verifyCmd)
}

func (a *app) signCmd() *cobra.Command {
	var key string
	c := command("sign --key KEY IMAGE", "Sign an image in a registry with a key, in cosign's format", cobra.ExactArgs(1),
		a.withStores(func(ctx context.Context, args []string) error {
			r, d, err := a.resolveRemote(ctx, args[0])
			if err != nil {
				return err
			}
			return a.sign(ctx, args[0], r.Context(), d, key)
		}))
	c.Flags().StringVar(&key, "key", "", "private key: cosign's (password in $COSIGN_PASSWORD) or a PEM EC, ed25519 or RSA key")
	_ = c.MarkFlagRequired("key")
	return c
}

// sign signs manifest d of repo (ref, as the user named it) with key.
func (a *app) sign(ctx context.Context, ref string, repo name.Repository, d v1.Hash, key string) error {
	s, err := signature.LoadSigner(key)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "Pushing signature to: %s\n", signature.Tag(repo, d))
	if err := signature.Sign(ctx, repo, d, s, a.images.RemoteOptions(ctx)...); err != nil {
		return &images.RefError{Ref: ref, Err: err}
	}
	return nil
}

func (a *app) verifyCmd() *cobra.Command {
	var key string
	c := command("verify --key KEY IMAGE", "Verify an image's cosign signatures with a public key", cobra.ExactArgs(1),
		a.withStores(func(ctx context.Context, args []string) error {
			v, err := signature.LoadVerifierFile(key)
			if err != nil {
				return err
			}
			r, d, err := a.resolveRemote(ctx, args[0])
			if err != nil {
				return err
			}
			ps, err := signature.Verify(ctx, r.Context(), d, []signature.Verifier{v}, a.images.RemoteOptions(ctx)...)
			if err != nil {
				return &images.RefError{Ref: args[0], Err: err}
			}
			fmt.Fprintf(a.stderr, "\nVerification for %s --\nThe following checks were performed on each of these signatures:\n"+
				"  - The cosign claims were validated\n  - The signatures were verified against the specified public key\n\n", args[0])
			out, err := json.Marshal(ps)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, string(out))
			return nil
		}))
	c.Flags().StringVar(&key, "key", "", "PEM public key (cosign.pub)")
	_ = c.MarkFlagRequired("key")
	return c
}

// resolveRemote parses ref and finds the manifest digest it names in its
// registry, as cosign does: a tag is resolved with HEAD. The stores must
// be open: registry access goes through images' one set of options
// (credentials, retries, user agent).
func (a *app) resolveRemote(ctx context.Context, ref string) (name.Reference, v1.Hash, error) {
	r, err := images.ParseRemote(ref, a.insecure)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	if dr, ok := r.(name.Digest); ok {
		d, err := v1.NewHash(dr.DigestStr())
		return r, d, err
	}
	desc, err := remote.Head(r, a.images.RemoteOptions(ctx)...)
	if err != nil {
		return nil, v1.Hash{}, images.RemoteError("resolving", ref, err)
	}
	return r, desc.Digest, nil
}

// signatureCheck is the pull hook for the signature policy in force
// (--signature-policy, else the system's or the user's).
func (a *app) signatureCheck(ref string) (func(context.Context, name.Reference, v1.Hash) error, error) {
	return engine.SignatureCheck(a.policy, ref, a.images)
}

// policyFlag adds --signature-policy to a command that pulls.
func (a *app) policyFlag(c *cobra.Command) {
	c.Flags().StringVar(&a.policy, "signature-policy", "", "containers-policy.json to check pulled images against (default "+
		signature.SystemPolicy+", then ~/"+signature.UserPolicy+"; none accepts all)")
}
