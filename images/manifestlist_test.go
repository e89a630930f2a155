package images

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/lade-build/lade/internal/testutil"
)

// TestManifestList: create a list from a local amd64 image and an arm64
// image only in a registry, annotate, push, and read the pushed index.
func TestManifestList(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	host := testutil.Registry(t, nil)
	amd := platformImage(t, "linux/amd64", time.Unix(1, 0))
	arm := platformImage(t, "linux/arm64", time.Unix(2, 0))
	if err := s.Tag(ctx, "app:amd64", amd); err != nil {
		t.Fatal(err)
	}
	push(t, host+"/src/app:arm64", arm)
	list := host + "/app:multi"
	if _, err := s.ManifestCreate(ctx, list, []string{"app:amd64", host + "/src/app:arm64"}, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ManifestCreate(ctx, list, []string{"app:amd64"}, false, nil); err == nil || !strings.Contains(err.Error(), "--amend") {
		t.Errorf("create of an existing list without --amend = %v", err)
	}
	if err := s.ManifestAnnotate(list, host+"/src/app:arm64", v1.Platform{Variant: "v8"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ManifestAnnotate(list, "absent:1", v1.Platform{OS: "linux"}); err == nil {
		t.Error("annotate of an image not in the list succeeded")
	}
	d, _, err := s.ManifestPush(ctx, list, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(list)
	if err != nil {
		t.Fatal(err)
	}
	ri, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	// Each image is there whole (validate.Index would also refuse the
	// annotated variant, which the config does not say).
	for _, img := range []v1.Image{amd, arm} {
		ri, err := remote.Image(r.Context().Digest(testutil.ImageDigest(t, img).String()))
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(ri); err != nil {
			t.Errorf("pushed image: %v", err)
		}
	}
	if rd, _ := ri.Digest(); rd != d {
		t.Errorf("registry serves %s, push said %s", rd, d)
	}
	im, _ := ri.IndexManifest()
	var got []string
	for _, m := range im.Manifests {
		got = append(got, PlatformString(*m.Platform))
	}
	if strings.Join(got, " ") != "linux/amd64 linux/arm64/v8" {
		t.Errorf("pushed platforms %v, want linux/amd64 linux/arm64/v8", got)
	}
	raw, err := s.ManifestInspect(ctx, list, nil)
	if err != nil || !strings.Contains(string(raw), `"variant":"v8"`) {
		t.Errorf("inspect: %v %s", err, raw)
	}
	if err := s.ManifestRemove(list); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ManifestList(list); !errors.Is(err, ErrNoManifestList) {
		t.Errorf("list after rm: %v", err)
	}
	// With no local list, inspect shows the registry's manifest.
	if raw, err := s.ManifestInspect(ctx, list, nil); err != nil || !strings.Contains(string(raw), "arm64") {
		t.Errorf("inspect of the pushed list: %v %s", err, raw)
	}
}
