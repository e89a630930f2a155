package signature

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/lade-build/lade/internal/testutil"
)

// keyPair writes a private key of kind and its public key; "cosign" is
// cosign's encrypted format with password "pw".
func keyPair(t *testing.T, kind string) (priv, pub string) {
	t.Helper()
	var privPEM, pubPEM []byte
	var err error
	if kind == "cosign" {
		privPEM, pubPEM, err = cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte("pw")))
	} else {
		var key crypto.Signer
		var der []byte
		typ := "PRIVATE KEY"
		switch kind {
		case "ec":
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			key, typ = k, "EC PRIVATE KEY"
			der, err = x509.MarshalECPrivateKey(k)
		case "ed25519":
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			key = k
			der, err = x509.MarshalPKCS8PrivateKey(k)
		case "rsa":
			k, _ := rsa.GenerateKey(rand.Reader, 2048)
			key, typ = k, "RSA PRIVATE KEY"
			der = x509.MarshalPKCS1PrivateKey(k)
		}
		privPEM = pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
		if err == nil {
			pubPEM, err = cryptoutils.MarshalPublicKeyToPEM(key.Public())
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "key"), filepath.Join(dir, "key.pub")
	for p, b := range map[string][]byte{priv: privPEM, pub: pubPEM} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return priv, pub
}

// pushRandom pushes a random image to repo on a test registry.
func pushRandom(t *testing.T, repo name.Repository) v1.Hash {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Tag("1"), img); err != nil {
		t.Fatal(err)
	}
	return testutil.ImageDigest(t, img)
}

func testRepo(t *testing.T, path string) name.Repository {
	repo, err := name.NewRepository(testutil.Registry(t, nil)+"/"+path, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func TestLoadSigner(t *testing.T) {
	for _, tc := range []struct {
		kind, password string
		unset          bool
		wantErr        string
	}{
		{kind: "cosign", password: "pw"},
		{kind: "cosign", password: "wrong", wantErr: "decryption failed"},
		{kind: "cosign", unset: true, wantErr: "is COSIGN_PASSWORD set?"},
		{kind: "ec"},
		{kind: "ed25519"},
		{kind: "rsa"},
	} {
		t.Run(tc.kind+"/"+tc.password, func(t *testing.T) {
			priv, pub := keyPair(t, tc.kind)
			t.Setenv(PasswordEnv, tc.password)
			if tc.unset {
				os.Unsetenv(PasswordEnv)
			}
			s, err := LoadSigner(priv)
			if testutil.ErrCase(t, err, tc.wantErr) {
				return
			}
			v, err := LoadVerifierFile(pub)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := s.SignMessage(strings.NewReader("m"))
			if err == nil {
				err = v.VerifySignature(strings.NewReader(string(sig)), strings.NewReader("m"))
			}
			if err != nil {
				t.Fatalf("round trip: %v", err)
			}
		})
	}
}

// TestSignVerify signs with each kind of key and checks what Verify says
// of the image, of an unsigned one, of another key, of a tampered
// signature and of a signature moved to another image.
func TestSignVerify(t *testing.T) {
	t.Setenv(PasswordEnv, "pw")
	ctx := context.Background()
	for _, kind := range []string{"cosign", "ec", "ed25519", "rsa"} {
		t.Run(kind, func(t *testing.T) {
			repo := testRepo(t, "sig/"+kind)
			d := pushRandom(t, repo)
			other := pushRandom(t, repo)
			priv, pub := keyPair(t, kind)
			_, otherPub := keyPair(t, "ec")
			s, err := LoadSigner(priv)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := LoadVerifierFile(pub)
			wrong, _ := LoadVerifierFile(otherPub)
			if _, err := Verify(ctx, repo, d, []Verifier{v}); !errors.Is(err, ErrNoValidSignature) || !strings.Contains(err.Error(), "not signed") {
				t.Errorf("Verify(unsigned) = %v", err)
			}
			if err := Sign(ctx, repo, d, s); err != nil {
				t.Fatal(err)
			}
			ps, err := Verify(ctx, repo, d, []Verifier{wrong, v})
			if err != nil || len(ps) != 1 || ps[0].Critical.Image.DockerManifestDigest != d.String() || ps[0].Critical.Identity.DockerReference != repo.Name() {
				t.Fatalf("Verify = %+v, %v", ps, err)
			}
			if _, err := Verify(ctx, repo, d, []Verifier{wrong}); !errors.Is(err, ErrNoValidSignature) {
				t.Errorf("Verify(other key) = %v", err)
			}
			// The same image's signatures under another digest's tag.
			sigImg, _ := remote.Image(Tag(repo, d))
			if err := remote.Write(Tag(repo, other), sigImg); err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(ctx, repo, other, []Verifier{v}); err == nil || !strings.Contains(err.Error(), "payload signs "+d.String()) {
				t.Errorf("Verify(moved signature) = %v", err)
			}
			tamper(t, repo, d)
			if _, err := Verify(ctx, repo, d, []Verifier{v}); err == nil || !strings.Contains(err.Error(), "signature does not verify") {
				t.Errorf("Verify(tampered) = %v", err)
			}
		})
	}
}

// tamper replaces d's signatures with the first one, one byte flipped.
func tamper(t *testing.T, repo name.Repository, d v1.Hash) {
	t.Helper()
	_, have, err := fetch(Tag(repo, d), nil)
	if err != nil || len(have) == 0 {
		t.Fatalf("fetch: %d signatures, %v", len(have), err)
	}
	raw, _ := base64.StdEncoding.DecodeString(have[0].sig)
	raw[len(raw)/2] ^= 1
	if err := write(Tag(repo, d), emptyBase(), have[0].payload, raw, nil); err != nil {
		t.Fatal(err)
	}
}

// TestLayout checks what Sign writes against cosign's layout byte for
// byte: the tag, the media types, the annotation and the payload; and
// that a second key appends while the same key again does not.
func TestLayout(t *testing.T) {
	t.Setenv(PasswordEnv, "pw")
	ctx := context.Background()
	repo := testRepo(t, "layout/app")
	d := pushRandom(t, repo)
	var pubs []string
	for _, kind := range []string{"cosign", "ed25519", "cosign"} {
		priv, pub := keyPair(t, kind)
		s, err := LoadSigner(priv)
		if err != nil {
			t.Fatal(err)
		}
		if err := Sign(ctx, repo, d, s); err != nil {
			t.Fatal(err)
		}
		if kind == "ed25519" {
			if err := Sign(ctx, repo, d, s); err != nil { // already there: kept once
				t.Fatal(err)
			}
		}
		pubs = append(pubs, pub)
	}
	img, err := remote.Image(repo.Tag("sha256-" + d.Hex + ".sig"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" || m.Config.MediaType != "application/vnd.oci.image.config.v1+json" || len(m.Layers) != 3 {
		t.Fatalf("signature manifest: %+v", m)
	}
	want := `{"critical":{"identity":{"docker-reference":"` + repo.Name() + `"},"image":{"docker-manifest-digest":"` + d.String() +
		`"},"type":"cosign container image signature"},"optional":null}`
	for i, l := range m.Layers {
		b, err := readBlob(img, l.Digest)
		if err != nil || string(b) != want || l.MediaType != "application/vnd.dev.cosign.simplesigning.v1+json" {
			t.Errorf("layer %d: %s %q, %v; want payload %s", i, l.MediaType, b, err, want)
		}
		v, _ := LoadVerifierFile(pubs[i])
		sig, _ := base64.StdEncoding.DecodeString(l.Annotations["dev.cosignproject.cosign/signature"])
		if err := v.VerifySignature(strings.NewReader(string(sig)), strings.NewReader(want)); err != nil {
			t.Errorf("layer %d: signature: %v", i, err)
		}
	}
}
