package signature

import (
	"crypto"
	"errors"
	"fmt"
	"os"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	sigs "github.com/sigstore/sigstore/pkg/signature"
)

// Verifier checks signatures with one public key.
type Verifier = sigs.Verifier

// PasswordEnv holds the password of an encrypted private key, as for cosign.
const PasswordEnv = "COSIGN_PASSWORD"

// LoadSigner reads a private key: cosign's encrypted format (decrypted with
// $COSIGN_PASSWORD) or a plain PEM EC, ed25519 or RSA key.
func LoadSigner(path string) (sigs.Signer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading key: %w", err)
	}
	pass := func(bool) ([]byte, error) { return []byte(os.Getenv(PasswordEnv)), nil }
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(raw, pass)
	if err != nil {
		if _, set := os.LookupEnv(PasswordEnv); !set {
			err = fmt.Errorf("%w (is %s set?)", err, PasswordEnv)
		}
		return nil, fmt.Errorf("loading private key %s: %w", path, err)
	}
	// SHA-256 as cosign: it is ignored for ed25519.
	s, err := sigs.LoadSigner(key, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading private key %s: %w", path, err)
	}
	return s, nil
}

// LoadVerifierFile reads a PEM public key.
func LoadVerifierFile(path string) (sigs.Verifier, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading public key: %w", err)
	}
	v, err := LoadVerifier(raw)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return v, nil
}

// LoadVerifier parses a PEM public key (PKIX, or PKCS#1 for RSA).
func LoadVerifier(pemBytes []byte) (sigs.Verifier, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return nil, err
	}
	if pub == nil {
		return nil, errors.New("no public key")
	}
	return sigs.LoadVerifier(pub, crypto.SHA256)
}
