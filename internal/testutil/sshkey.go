package testutil

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"testing"

	"golang.org/x/crypto/ssh"
)

// SSHKey returns a fresh unencrypted ed25519 private key in OpenSSH PEM
// form, as `--ssh ID=KEYFILE` reads it.
func SSHKey(t testing.TB) []byte {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	must(t, err)
	return pem.EncodeToMemory(block)
}
