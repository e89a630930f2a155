package main

import (
	"context"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/signature"
)

// cosignPkg is the cosign scripts/test.sh installs.
const cosignPkg = "github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5"

// keyFiles writes an encrypted cosign-format key pair (password "pw", set
// in COSIGN_PASSWORD) and returns the paths of cosign.key and cosign.pub.
func keyFiles(t *testing.T) (key, pub string) {
	t.Helper()
	t.Setenv(signature.PasswordEnv, "pw")
	priv, pubPEM, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte("pw")))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(key, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pubPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return key, pub
}

// requireKey writes a policy that accepts anything but needs a signature
// by pub for every image of scope.
func requireKey(t *testing.T, scope, pub string) string {
	t.Helper()
	doc := fmt.Sprintf(`{"default": [{"type": "insecureAcceptAnything"}],
 "transports": {"docker": {%q: [{"type": "sigstoreSigned", "keyPath": %q}]}}}`, scope, pub)
	p := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// storedBlobs lists the content blobs under root.
func storedBlobs(t *testing.T, root string) []string {
	t.Helper()
	var blobs []string
	filepath.WalkDir(filepath.Join(root, "content"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.Contains(p, "/blobs/") {
			blobs = append(blobs, p)
		}
		return nil
	})
	return blobs
}

// TestSignVerifyPolicyCLI signs with push --sign and lade sign, verifies,
// and pulls and runs under a policy that needs a signature for the test
// registry: an unsigned image is refused and nothing of it is stored.
func TestSignVerifyPolicyCLI(t *testing.T) {
	root := newRoot(t)
	host := testutil.Registry(t, nil)
	key, pub := keyFiles(t)
	_, otherPub := keyFiles(t)
	signed, plain := host+"/sig/app:1", host+"/sig/plain:1"
	for _, ref := range []string{signed, plain} {
		if r := lade(t, root, "", "tag", "busybox", ref); r.code != 0 {
			t.Fatal(r.stderr)
		}
	}
	if r := lade(t, root, "", "push", "--sign", "--key", key, signed); r.code != 0 || !strings.Contains(r.stderr, "Pushing signature to: "+host+"/sig/app:sha256-") {
		t.Fatalf("push --sign: %+v", r)
	}
	if r := lade(t, root, "", "push", plain); r.code != 0 {
		t.Fatalf("push: %+v", r)
	}

	r := lade(t, root, "", "verify", "--key", pub, signed)
	var ps []signature.Payload
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &ps) != nil || len(ps) != 1 || ps[0].Critical.Identity.DockerReference != host+"/sig/app" {
		t.Errorf("verify signed: %+v", r)
	}
	for _, tc := range []struct{ key, ref, want string }{
		{pub, plain, "Error: " + plain + ": no valid signature: image is not signed"},
		{otherPub, signed, "Error: " + signed + ": no valid signature: signature does not verify: "},
		{pub, host + "/sig/missing:1", "Error: " + host + "/sig/missing:1: not found"},
	} {
		r := lade(t, root, "", "verify", "--key", tc.key, tc.ref)
		if lines := testutil.ErrorLines(r.stderr); r.code == 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], tc.want) {
			t.Errorf("verify %s: %+v, want one line %q", tc.ref, r, tc.want)
		}
	}

	policy := requireKey(t, host, pub)
	refused := fmt.Sprintf("Error: %s: refused by signature policy for %q: no valid signature: image is not signed", plain, host)
	fresh := t.TempDir()
	for _, args := range [][]string{
		{"pull", "--signature-policy", policy, plain},
		{"run", "--rm", "--signature-policy", policy, plain, "true"},
	} {
		r := lade(t, fresh, "", args...)
		if r.code == 0 || !strings.Contains(r.stderr, refused+"\n") {
			t.Errorf("%s of an unsigned image: %+v, want %q", args[0], r, refused)
		}
		if blobs := storedBlobs(t, fresh); len(blobs) != 0 {
			t.Errorf("%s of a refused image stored %v", args[0], blobs)
		}
	}
	if r := lade(t, fresh, "", "pull", "--signature-policy", policy, signed); r.code != 0 {
		t.Errorf("pull of a signed image: %+v", r)
	}
	// lade sign signs what is already pushed; then the policy accepts it.
	if r := lade(t, root, "", "sign", "--key", key, plain); r.code != 0 {
		t.Fatalf("sign: %+v", r)
	}
	if r := lade(t, fresh, "", "pull", "--signature-policy", policy, plain); r.code != 0 {
		t.Errorf("pull after lade sign: %+v", r)
	}
}

// TestCosignInterop uses cosign as the outside verifier both ways: cosign
// verify accepts what lade sign signed, lade verify accepts what cosign
// sign signed and refuses an unsigned image and a tampered signature.
func TestCosignInterop(t *testing.T) {
	cosign := goTool(t, "cosign", cosignPkg)
	host := testutil.Registry(t, nil)
	dir := t.TempDir()
	t.Setenv(signature.PasswordEnv, "pw")
	cmd := exec.Command(cosign, "generate-key-pair")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	key, pub := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	byLade, byCosign, unsigned := host+"/interop/lade:1", host+"/interop/cosign:1", host+"/interop/none:1"
	digests := map[string]string{}
	for _, ref := range []string{byLade, byCosign, unsigned} {
		digests[ref] = pushRandom(t, ref)
	}
	root := t.TempDir() // sign and verify keep nothing locally

	if r := lade(t, root, "", "sign", "--key", key, byLade); r.code != 0 {
		t.Fatalf("lade sign: %+v", r)
	}
	out := run(t, cosign, "verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry", byLade)
	if !strings.Contains(out, `"docker-manifest-digest":"`+digests[byLade]+`"`) {
		t.Errorf("cosign verify of lade's signature:\n%s", out)
	}

	run(t, cosign, "sign", "--key", key, "--tlog-upload=false", "--allow-http-registry", "-y", byCosign)
	r := lade(t, root, "", "verify", "--key", pub, byCosign)
	if r.code != 0 || !strings.Contains(r.stdout, digests[byCosign]) {
		t.Errorf("lade verify of cosign's signature: %+v", r)
	}
	// The signature policy takes cosign's signatures too.
	policy, err := signature.Load(requireKey(t, host, pub))
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(byCosign)
	d, _ := v1.NewHash(digests[byCosign])
	if err := policy.Check(context.Background(), ref, d); err != nil {
		t.Errorf("policy check of cosign's signature: %v", err)
	}
	if r := lade(t, root, "", "verify", "--key", pub, unsigned); r.code == 0 || !strings.Contains(r.stderr, "image is not signed") {
		t.Errorf("lade verify of an unsigned image: %+v", r)
	}
	tamperSignature(t, byCosign, digests[byCosign])
	if r := lade(t, root, "", "verify", "--key", pub, byCosign); r.code == 0 || !strings.Contains(r.stderr, "signature does not verify") {
		t.Errorf("lade verify of a tampered signature: %+v", r)
	}
}

// pushRandom pushes a small random image as ref and returns its digest.
func pushRandom(t *testing.T, ref string) string {
	t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(ref)
	if err == nil {
		err = remote.Write(tag, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return testutil.ImageDigest(t, img).String()
}

// tamperSignature rewrites the signature manifest of digest d of ref's
// repository with its first signature's last byte changed.
func tamperSignature(t *testing.T, ref, d string) {
	t.Helper()
	tag, _ := name.NewTag(ref)
	sigTag := tag.Context().Tag(strings.Replace(d, ":", "-", 1) + ".sig")
	desc, err := remote.Get(sigTag)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	ann := m["layers"].([]any)[0].(map[string]any)["annotations"].(map[string]any)
	s := ann[signature.SignatureAnnotation].(string)
	ann[signature.SignatureAnnotation] = s[:len(s)-4] + strings.Repeat("A", 4)
	raw, _ := json.Marshal(m)
	if err := remote.Put(sigTag, rawManifest{raw, desc.MediaType}); err != nil {
		t.Fatal(err)
	}
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }
