package signature

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestCandidates(t *testing.T) {
	for _, tc := range []struct {
		ref  string
		want []string
	}{
		{"127.0.0.1:5000/x:1.0", []string{"127.0.0.1:5000/x:1.0", "127.0.0.1:5000/x", "127.0.0.1:5000", ""}},
		{"busybox", []string{"docker.io/library/busybox:latest", "docker.io/library/busybox", "docker.io/library", "docker.io", "*.io", ""}},
		{"reg.example.com/a/b@sha256:" + strings.Repeat("ab", 32), []string{
			"reg.example.com/a/b@sha256:" + strings.Repeat("ab", 32), "reg.example.com/a/b", "reg.example.com/a",
			"reg.example.com", "*.example.com", "*.com", ""}},
	} {
		ref, err := name.ParseReference(tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, candidates(ref)); diff != "" {
			t.Errorf("candidates(%q) (-want +got):\n%s", tc.ref, diff)
		}
	}
}

// writePolicy writes a policy whose docker transport maps each scope to
// the requirement JSON given.
func writePolicy(t *testing.T, def string, scopes map[string]string) string {
	t.Helper()
	var parts []string
	for s, req := range scopes {
		parts = append(parts, fmt.Sprintf("%q: [%s]", s, req))
	}
	doc := fmt.Sprintf(`{"default": [%s], "transports": {"docker": {%s}, "docker-daemon": {"": [{"type": "signedBy", "keyType": "GPGKeys"}]}}}`,
		def, strings.Join(parts, ","))
	p := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPolicyCheck evaluates policies on a signed and an unsigned image of
// one test registry: the most specific scope decides, and a refusal names it.
func TestPolicyCheck(t *testing.T) {
	t.Setenv(PasswordEnv, "pw")
	ctx := context.Background()
	repo := testRepo(t, "team/app")
	host := repo.RegistryStr()
	signed, unsigned := pushRandom(t, repo), pushRandom(t, repo)
	priv, pub := keyPair(t, "cosign")
	_, otherPub := keyPair(t, "ec")
	s, _ := LoadSigner(priv)
	if err := Sign(ctx, repo, signed, s); err != nil {
		t.Fatal(err)
	}
	pubData, _ := os.ReadFile(pub)
	byPath := fmt.Sprintf(`{"type": "sigstoreSigned", "keyPath": %q, "signedIdentity": {"type": "matchRepository"}}`, pub)
	byData := fmt.Sprintf(`{"type": "sigstoreSigned", "keyData": %q}`, base64.StdEncoding.EncodeToString(pubData))
	wrongKey := fmt.Sprintf(`{"type": "sigstoreSigned", "keyPaths": [%q]}`, otherPub)
	accept, reject := `{"type": "insecureAcceptAnything"}`, `{"type": "reject"}`
	for _, tc := range []struct {
		name, def string
		scopes    map[string]string
		unsigned  string // error for the unsigned image; "" accepts
		signed    string // error for the signed one
	}{
		{name: "accept all", def: accept},
		{name: "reject all", def: reject, unsigned: "refused by the default signature policy: images are rejected", signed: "images are rejected"},
		{name: "host needs key", def: reject, scopes: map[string]string{host: byPath},
			unsigned: fmt.Sprintf("refused by signature policy for %q: no valid signature: image is not signed", host)},
		{name: "repo more specific than host", def: accept, scopes: map[string]string{host: reject, host + "/team/app": byData},
			unsigned: fmt.Sprintf("for %q: no valid signature", host+"/team/app")},
		{name: "namespace", def: accept, scopes: map[string]string{host + "/team": byPath, host + "/other": reject},
			unsigned: "no valid signature"},
		{name: "transport default", def: accept, scopes: map[string]string{"": byPath},
			unsigned: "refused by the docker transport's signature policy"},
		{name: "wrong key", def: accept, scopes: map[string]string{host: wrongKey},
			unsigned: "no valid signature", signed: "no valid signature: signature does not verify"},
		{name: "all requirements", def: accept, scopes: map[string]string{host: byPath + "," + reject},
			unsigned: "no valid signature", signed: "images are rejected"},
		{name: "unsupported", def: accept, scopes: map[string]string{host: `{"type": "signedBy", "keyType": "GPGKeys"}`},
			unsigned: `requirement type "signedBy" is not supported`, signed: "not supported"},
		{name: "keyless", def: accept, scopes: map[string]string{host: `{"type": "sigstoreSigned", "fulcio": {}}`},
			unsigned: "keyless", signed: "keyless"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Load(writePolicy(t, tc.def, tc.scopes))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct{ tag, want string }{{"unsigned", tc.unsigned}, {"signed", tc.signed}} {
				d := unsigned
				if c.tag == "signed" {
					d = signed
				}
				err := p.Check(ctx, repo.Tag(c.tag), d)
				var r *Refusal
				if c.want == "" && err != nil || c.want != "" && (!errors.As(err, &r) || !strings.Contains(err.Error(), c.want)) {
					t.Errorf("Check(%s) = %v, want %q", c.tag, err, c.want)
				}
			}
		})
	}
}

func TestLoadPolicyErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"transports": {}}`, "no default requirement"},
		{`{"default": [}`, "invalid character"},
		{`{"default": [{"type": "sigstoreSigned", "keyData": "not base64!"}]}`, "illegal base64"},
	} {
		p := filepath.Join(t.TempDir(), "policy.json")
		os.WriteFile(p, []byte(tc.doc), 0o644)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%s) = %v, want %q", tc.doc, err, tc.want)
		}
	}
	if _, err := Load("/nonexistent/policy.json"); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

// TestSignedForAnotherRepository: a signature copied with its image to
// another repository names the first one, which sigstoreSigned refuses.
func TestSignedForAnotherRepository(t *testing.T) {
	t.Setenv(PasswordEnv, "pw")
	ctx := context.Background()
	repo := testRepo(t, "a/app")
	d := pushRandom(t, repo)
	priv, pub := keyPair(t, "ec")
	s, _ := LoadSigner(priv)
	if err := Sign(ctx, repo, d, s); err != nil {
		t.Fatal(err)
	}
	pl, _ := NewPayload(repo, d)
	sig, _ := s.SignMessage(strings.NewReader(string(pl)))
	moved, _ := name.NewRepository(repo.RegistryStr()+"/b/app", name.Insecure)
	signForeign(t, moved, d, pl, sig)
	p, _ := Load(writePolicy(t, `{"type": "reject"}`, map[string]string{
		repo.RegistryStr(): fmt.Sprintf(`{"type": "sigstoreSigned", "keyPath": %q}`, pub)}))
	if err := p.Check(ctx, repo.Tag("1"), d); err != nil {
		t.Errorf("Check(own repository) = %v", err)
	}
	if err := p.Check(ctx, moved.Tag("1"), d); err == nil || !strings.Contains(err.Error(), "signed for "+repo.Name()) {
		t.Errorf("Check(other repository) = %v", err)
	}
}

// signForeign writes signature sig over pl as the only one of d in repo.
func signForeign(t *testing.T, repo name.Repository, d v1.Hash, pl, sig []byte) {
	t.Helper()
	if err := write(Tag(repo, d), emptyBase(), pl, sig, nil); err != nil {
		t.Fatal(err)
	}
}
