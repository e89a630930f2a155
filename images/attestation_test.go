package images

import (
	"context"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/lade-build/lade/attest"
	"github.com/lade-build/lade/internal/testutil"
)

// TestTagIndexAttestations: an index's attestation manifest (in-toto
// layers) is kept only where BuildKit puts one: annotated, for
// unknown/unknown; in-toto layers anywhere else are refused.
func TestTagIndexAttestations(t *testing.T) {
	img := testutil.BusyboxImage(t)
	d := testutil.ImageDigest(t, img)
	att, err := attest.Manifest([]attest.Statement{{Type: attest.StatementType, PredicateType: attest.PredicateSPDX, Subject: attest.Subjects(d, nil, v1.Platform{})}})
	if err != nil {
		t.Fatal(err)
	}
	unknown := &v1.Platform{OS: "unknown", Architecture: "unknown"}
	marked := map[string]string{attest.AnnotationReferenceType: attest.ReferenceTypeAttestation, attest.AnnotationReferenceDigest: d.String()}
	tests := []struct {
		name string
		desc v1.Descriptor
		err  string
	}{
		{"attestation", v1.Descriptor{Platform: unknown, Annotations: marked}, ""},
		{"unmarked", v1.Descriptor{Platform: unknown}, "does not belong there"},
		{"runnable platform", v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}, Annotations: marked}, "does not belong there"},
	}
	for _, tc := range tests {
		s, _ := newStore(t)
		idx := mutate.AppendManifests(empty.Index,
			mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
			mutate.IndexAddendum{Add: att, Descriptor: tc.desc})
		err := s.TagIndex(context.Background(), "x:1", idx)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: TagIndex = %v, want %q", tc.name, err, tc.err)
		}
	}
}
