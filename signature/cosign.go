package signature

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	sigs "github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// cosign's names for the parts of its layout.
const (
	SimpleSigningMediaType types.MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	SignatureAnnotation                    = "dev.cosignproject.cosign/signature"
)

// Bounds on what a registry can make Verify read.
const (
	maxPayload    = 1 << 20
	maxSignatures = 256
)

// ErrNoValidSignature says no signature verified; errors wrap it with why.
var ErrNoValidSignature = errors.New("no valid signature")

// Payload is a verified simple-signing payload, as cosign prints it.
type Payload = payload.SimpleContainerImage

// signature is one layer of a signature image.
type signature struct {
	payload []byte
	sig     string // base64, as in the annotation
}

// Tag is where the signatures of manifest d live in repo: sha256-<hex>.sig.
func Tag(repo name.Repository, d v1.Hash) name.Tag {
	return repo.Tag(d.Algorithm + "-" + d.Hex + ".sig")
}

// NewPayload is the simple-signing payload cosign signs for d in repo.
func NewPayload(repo name.Repository, d v1.Hash) ([]byte, error) {
	return payload.Cosign{Image: repo.Digest(d.String())}.MarshalJSON()
}

// Sign signs manifest d of repo with s and adds the signature to d's
// signature image, unless one by the same key for the same claims is there.
func Sign(ctx context.Context, repo name.Repository, d v1.Hash, s sigs.Signer, opts ...remote.Option) error {
	pl, err := NewPayload(repo, d)
	if err != nil {
		return err
	}
	raw, err := s.SignMessage(bytes.NewReader(pl))
	if err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	tag := Tag(repo, d)
	opts = append(opts, remote.WithContext(ctx))
	base, have, err := fetch(tag, opts)
	if err != nil {
		return err
	}
	if pub, err := s.PublicKey(); err == nil {
		if v, err := sigs.LoadVerifier(pub, crypto.SHA256); err == nil && len(verified(have, d, []sigs.Verifier{v})) > 0 {
			return nil // cosign's dupe detection: already signed with this key
		}
	}
	return write(tag, base, pl, raw, opts)
}

// write adds the signature raw over pl to base and writes it as tag.
func write(tag name.Tag, base v1.Image, pl, raw []byte, opts []remote.Option) error {
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:       static.NewLayer(pl, SimpleSigningMediaType),
		Annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(raw)},
	})
	if err != nil {
		return err
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		return fmt.Errorf("writing signature %s: %w", tag, err)
	}
	return nil
}

// Verify returns the payloads of d's signatures in repo that one of vs
// verifies and whose claims name d, or an error wrapping
// ErrNoValidSignature when there are none.
func Verify(ctx context.Context, repo name.Repository, d v1.Hash, vs []sigs.Verifier, opts ...remote.Option) ([]Payload, error) {
	_, have, err := fetch(Tag(repo, d), append(opts, remote.WithContext(ctx)))
	if err != nil {
		return nil, err
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("%w: image is not signed", ErrNoValidSignature)
	}
	ok := verified(have, d, vs)
	if len(ok) == 0 {
		_, err := check(have[0], d, vs)
		return nil, fmt.Errorf("%w: %w", ErrNoValidSignature, err)
	}
	return ok, nil
}

// verified keeps the payloads of the signatures that check.
func verified(have []signature, d v1.Hash, vs []sigs.Verifier) []Payload {
	var ok []Payload
	for _, s := range have {
		if p, err := check(s, d, vs); err == nil {
			ok = append(ok, p)
		}
	}
	return ok
}

// check verifies s with any of vs, then its claims, as cosign does: the
// type and the manifest digest.
func check(s signature, d v1.Hash, vs []sigs.Verifier) (Payload, error) {
	var p Payload
	raw, err := base64.StdEncoding.DecodeString(s.sig)
	if err != nil {
		return p, fmt.Errorf("signature is not base64: %w", err)
	}
	err = errors.New("no public key")
	for _, v := range vs {
		if err = v.VerifySignature(bytes.NewReader(raw), bytes.NewReader(s.payload)); err == nil {
			break
		}
	}
	if err != nil {
		return p, fmt.Errorf("signature does not verify: %w", err)
	}
	if err := json.Unmarshal(s.payload, &p); err != nil {
		return p, fmt.Errorf("parsing payload: %w", err)
	}
	if p.Critical.Type != payload.CosignSignatureType {
		return p, fmt.Errorf("payload of type %q", p.Critical.Type)
	}
	if p.Critical.Image.DockerManifestDigest != d.String() {
		return p, fmt.Errorf("payload signs %s, not %s", p.Critical.Image.DockerManifestDigest, d)
	}
	return p, nil
}

// fetch reads the signature image at tag: the image to append to (an empty
// OCI one when there is none) and its signatures.
func fetch(tag name.Tag, opts []remote.Option) (v1.Image, []signature, error) {
	img, err := remote.Image(tag, opts...)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return emptyBase(), nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("fetching signatures %s: %w", tag, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, nil, fmt.Errorf("fetching signatures %s: %w", tag, err)
	}
	var have []signature
	for _, l := range m.Layers {
		if l.MediaType != SimpleSigningMediaType || len(have) == maxSignatures {
			continue
		}
		if l.Size > maxPayload {
			return nil, nil, fmt.Errorf("signature payload %s is larger than %d bytes", l.Digest, maxPayload)
		}
		pl, err := readBlob(img, l.Digest)
		if err != nil {
			return nil, nil, fmt.Errorf("fetching signature payload %s: %w", l.Digest, err)
		}
		have = append(have, signature{payload: pl, sig: l.Annotations[SignatureAnnotation]})
	}
	return img, have, nil
}

// readBlob reads a small blob of img and checks its digest.
func readBlob(img v1.Image, d v1.Hash) ([]byte, error) {
	l, err := img.LayerByDigest(d)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxPayload+1))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	if d.Algorithm != "sha256" || hex.EncodeToString(sum[:]) != d.Hex {
		return nil, fmt.Errorf("content does not match digest %s", d)
	}
	return b, nil
}

// emptyBase is a signature image with no signature yet: OCI media types,
// as cosign writes them.
func emptyBase() v1.Image {
	return mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
}
