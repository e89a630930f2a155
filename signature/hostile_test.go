package signature

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"

	"github.com/lade-build/lade/internal/testutil"
)

// TestHostileSignatures: what a registry serves as signatures is bounded
// and checked before it is believed.
func TestHostileSignatures(t *testing.T) {
	ctx := context.Background()
	var lie bool
	host := testutil.Registry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !lie || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := bytes.ToUpper(rec.Body.Bytes()) // same size, other bytes
			w.WriteHeader(rec.Code)
			w.Write(body)
		})
	})
	repo, _ := name.NewRepository(host+"/hostile/app", name.Insecure)
	d := pushRandom(t, repo)
	pl, _ := NewPayload(repo, d)
	_, pub := keyPair(t, "ec")
	v, _ := LoadVerifierFile(pub)
	big := mutate.Addendum{Layer: static.NewLayer(make([]byte, maxPayload+1), SimpleSigningMediaType)}
	for _, tc := range []struct {
		name  string
		setup func() error
		want  string
	}{
		{"empty signature", func() error { return write(Tag(repo, d), emptyBase(), pl, nil, nil) }, "no valid signature"},
		{"payload too large", func() error {
			img, err := mutate.Append(emptyBase(), big)
			if err == nil {
				err = remote.Write(Tag(repo, d), img)
			}
			return err
		}, "larger than"},
		{"payload bytes changed by the registry", func() error {
			lie = true
			return write(Tag(repo, d), emptyBase(), pl, []byte("sig"), nil)
		}, "checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lie = false
			if err := tc.setup(); err != nil {
				t.Fatal(err)
			}
			_, err := Verify(ctx, repo, d, []Verifier{v})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Verify = %v, want %q", err, tc.want)
			}
			if strings.Contains(tc.want, "valid") && !errors.Is(err, ErrNoValidSignature) {
				t.Errorf("Verify = %v, want ErrNoValidSignature", err)
			}
		})
	}
}
