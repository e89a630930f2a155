package images

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/lade-build/lade/internal/testutil"
)

// TestPullVerify: PullOptions.Verify is asked about the digest the
// reference resolves to (the index's for a multi-platform image) and a
// refusal leaves no blob in the store.
func TestPullVerify(t *testing.T) {
	ctx := context.Background()
	host := testutil.Registry(t, nil)
	img := randomImage(t, 1, time.Unix(1, 0))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	single, multi := host+"/verify/single:1", host+"/verify/multi:1"
	push(t, single, img)
	r, _ := name.ParseReference(multi)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	idxDigest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused")
	for _, tc := range []struct {
		ref  string
		want v1.Hash
	}{
		{single, testutil.ImageDigest(t, img)},
		{multi, idxDigest},
	} {
		for _, accept := range []bool{false, true} {
			s, content := newStore(t)
			var asked []v1.Hash
			verify := func(_ context.Context, r name.Reference, d v1.Hash) error {
				asked = append(asked, d)
				if r.String() != tc.ref || !accept {
					return refused
				}
				return nil
			}
			_, err := s.Pull(ctx, tc.ref, PullOptions{Verify: verify})
			if len(asked) != 1 || asked[0] != tc.want || errors.Is(err, refused) == accept {
				t.Errorf("Pull(%s) accept=%v: asked about %v, err %v; want %s", tc.ref, accept, asked, err, tc.want)
			}
			cfg, _ := img.ConfigName()
			layers, _ := img.Layers()
			ld, _ := layers[0].Digest()
			for _, d := range []v1.Hash{testutil.ImageDigest(t, img), cfg, ld} {
				if stored := content.Has(d); stored != accept {
					t.Errorf("Pull(%s) accept=%v: blob %s stored: %v", tc.ref, accept, d, stored)
				}
			}
		}
	}
}
