package images

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/lade-build/lade/internal/testutil"
)

// platformImage is a random image whose config says platform p
// ("linux/arm64/v8").
func platformImage(t *testing.T, p string, created time.Time) v1.Image {
	t.Helper()
	plat, err := v1.ParsePlatform(p)
	if err != nil {
		t.Fatal(err)
	}
	img := randomImage(t, 2, created)
	return testutil.EditConfig(t, img, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	})
}

// twoPlatforms is an index of a linux/amd64 and a linux/arm64/v8 image.
func twoPlatforms(t *testing.T) (v1.ImageIndex, v1.Image, v1.Image) {
	t.Helper()
	amd := platformImage(t, "linux/amd64", time.Unix(100, 0))
	arm := platformImage(t, "linux/arm64/v8", time.Unix(200, 0))
	return testutil.MultiIndex(t, amd, arm), amd, arm
}

// storedTwoPlatforms is a store holding twoPlatforms' index as multi:1.
func storedTwoPlatforms(t *testing.T) (*Store, v1.ImageIndex, v1.Image, v1.Image) {
	t.Helper()
	s, _ := newStore(t)
	idx, amd, arm := twoPlatforms(t)
	if err := s.TagIndex(context.Background(), "multi:1", idx); err != nil {
		t.Fatal(err)
	}
	return s, idx, amd, arm
}

func TestTagIndexGet(t *testing.T) {
	ctx := context.Background()
	s, idx, amd, arm := storedTwoPlatforms(t)
	gi, err := s.GetIndex(ctx, "multi:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(gi); err != nil {
		t.Fatalf("stored index does not validate: %v", err)
	}
	want, _ := idx.Digest()
	if got, _ := gi.Digest(); got != want {
		t.Errorf("GetIndex digest = %s, want %s", got, want)
	}
	tests := []struct {
		platform string // "" for Get
		want     v1.Image
		err      error
	}{
		{"", amd, nil}, // the host's platform (tests run on amd64)
		{"linux/amd64", amd, nil},
		{"linux/x86_64", amd, nil},
		{"linux/arm64", arm, nil},
		{"linux/arm64/v8", arm, nil},
		{"linux/aarch64", arm, nil},
		{"linux/arm/v7", nil, ErrNotFound},
		{"windows/amd64", nil, ErrNotFound},
	}
	for _, tc := range tests {
		var img v1.Image
		var err error
		if tc.platform == "" {
			img, err = s.Get(ctx, "multi:1")
		} else {
			p, perr := ParsePlatform(tc.platform)
			if perr != nil {
				t.Fatal(perr)
			}
			img, err = s.GetPlatform(ctx, "multi:1", p)
		}
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("GetPlatform(%q) = %v, want %v", tc.platform, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("GetPlatform(%q): %v", tc.platform, err)
			continue
		}
		if got, want := testutil.ImageDigest(t, img), testutil.ImageDigest(t, tc.want); got != want {
			t.Errorf("GetPlatform(%q) = %s, want %s", tc.platform, got, want)
		}
	}
}

func TestGetIndexOfImage(t *testing.T) {
	ctx := context.Background()
	s, _ := storeWith(t, "single:1", 1)
	if _, err := s.GetIndex(ctx, "single:1"); !errors.Is(err, ErrNotIndex) || !errors.Is(err, ErrNotFound) {
		t.Errorf("GetIndex of an image = %v, want ErrNotIndex", err)
	}
	if _, err := s.GetIndex(ctx, "absent:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetIndex of nothing = %v, want ErrNotFound", err)
	}
}

func TestGetPlatformSingleImage(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if err := s.Tag(ctx, "arm:1", platformImage(t, "linux/arm64", time.Unix(1, 0))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPlatform(ctx, "arm:1", v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}); err != nil {
		t.Errorf("arm64 image as arm64/v8: %v", err)
	}
	if _, err := s.GetPlatform(ctx, "arm:1", v1.Platform{OS: "linux", Architecture: "amd64"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("arm64 image as amd64 = %v, want ErrNotFound", err)
	}
}

// TestListIndex: an index is one entry, with its platforms; its images
// are not listed on their own, but stay reachable by digest.
func TestListIndex(t *testing.T) {
	ctx := context.Background()
	s, idx, _, arm := storedTwoPlatforms(t)
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	if len(list) != 1 || list[0].Digest != d || list[0].ID != d || !list[0].IsIndex() {
		t.Fatalf("List = %+v, want one index entry %s", list, d)
	}
	if got := list[0].Platforms; len(got) != 2 || got[0] != "linux/amd64" || got[1] != "linux/arm64/v8" {
		t.Errorf("Platforms = %v", got)
	}
	if _, err := s.Get(ctx, "multi@"+testutil.ImageDigest(t, arm).String()); err != nil {
		t.Errorf("child by digest: %v", err)
	}
	if _, err := s.Get(ctx, d.Hex[:12]); err != nil {
		t.Errorf("index by ID prefix: %v", err)
	}
}

// TestDeleteIndex: rmi of an index's last name drops it and its images
// from the store; an image also named on its own stays.
func TestDeleteIndex(t *testing.T) {
	ctx := context.Background()
	s, idx, amd, _ := storedTwoPlatforms(t)
	if err := s.Tag(ctx, "amd:1", amd); err != nil {
		t.Fatal(err)
	}
	none := func(v1.Hash) []User { return nil }
	rm, err := s.Delete(ctx, "multi:1", false, none)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	if rm.Deleted != d {
		t.Errorf("Deleted = %s, want the index %s", rm.Deleted, d)
	}
	imgs, indexes, err := s.Manifests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(indexes) != 0 || len(imgs) != 1 || imgs[0] != testutil.ImageDigest(t, amd) {
		t.Errorf("after rmi: images %v, indexes %v; want only amd:1's image", imgs, indexes)
	}
}

// TestDeleteIndexInUse: a container using one platform's image holds the
// index against rmi by ID.
func TestDeleteIndexInUse(t *testing.T) {
	ctx := context.Background()
	s, idx, _, arm := storedTwoPlatforms(t)
	armID := testutil.ImageID(t, arm)
	users := func(id v1.Hash) []User {
		if id == armID {
			return []User{{ID: "c0ffee", Running: true}}
		}
		return nil
	}
	d, _ := idx.Digest()
	if _, err := s.Delete(ctx, d.String(), true, users); err == nil {
		t.Error("rmi -f of an index whose arm64 image a running container uses succeeded")
	}
}

// TestPushIndex: an index pushes with all its images, each entry keeping
// its platform, under the same digest.
func TestPushIndex(t *testing.T) {
	ctx := context.Background()
	s, idx, _, _ := storedTwoPlatforms(t)
	gi, err := s.GetIndex(ctx, "multi:1")
	if err != nil {
		t.Fatal(err)
	}
	ref := testutil.Registry(t, nil) + "/multi:1"
	d, err := s.PushIndex(ctx, ref, gi, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ri := testutil.RemoteIndex(t, ref)
	if err := validate.Index(ri); err != nil {
		t.Fatalf("pushed index: %v", err)
	}
	rd, _ := ri.Digest()
	want, _ := idx.Digest()
	if rd != want || d != want {
		t.Errorf("pushed digest %s (returned %s), want %s", rd, d, want)
	}
	im, _ := ri.IndexManifest()
	if len(im.Manifests) != 2 || im.Manifests[1].Platform == nil || im.Manifests[1].Platform.Architecture != "arm64" {
		t.Errorf("pushed entries %+v, want amd64 and arm64 with platforms", im.Manifests)
	}
}

// TestPullPlatformFetchesOnlyItsBlobs: pull --platform of an index
// downloads exactly that platform's config and layers.
func TestPullPlatformFetchesOnlyItsBlobs(t *testing.T) {
	idx, amd, arm := twoPlatforms(t)
	var mu sync.Mutex
	got := map[string]bool{}
	host := testutil.Registry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if i := strings.Index(r.URL.Path, "/blobs/sha256:"); i >= 0 && r.Method == http.MethodGet {
				mu.Lock()
				got[r.URL.Path[i+len("/blobs/"):]] = true
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	})
	ref := host + "/multi:1"
	push(t, ref, idx)
	tests := []struct {
		platform v1.Platform
		want     v1.Image
	}{
		{v1.Platform{OS: "linux", Architecture: "arm64"}, arm},
		{v1.Platform{}, amd}, // the host's
	}
	for _, tc := range tests {
		mu.Lock()
		clear(got)
		mu.Unlock()
		s := quickStore(t)
		img, err := s.Pull(context.Background(), ref, PullOptions{Platform: tc.platform})
		if err != nil {
			t.Fatal(err)
		}
		if d, w := testutil.ImageDigest(t, img), testutil.ImageDigest(t, tc.want); d != w {
			t.Errorf("pull %v = %s, want %s", tc.platform, d, w)
		}
		want := map[string]bool{}
		for _, d := range blobDigestsOf(t, tc.want) {
			want[d.String()] = true
		}
		mu.Lock()
		if !maps.Equal(got, want) {
			t.Errorf("pull %v fetched blobs %v, want only %v", tc.platform, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
		mu.Unlock()
	}
}

// blobDigestsOf is img's config and layer digests.
func blobDigestsOf(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	out := []v1.Hash{m.Config.Digest}
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}

// TestSaveLoadIndex: save of an index writes an OCI archive with the
// index that loads back whole under its name; --platform saves one
// platform as a docker archive; a mix of an index and images is refused.
func TestSaveLoadIndex(t *testing.T) {
	ctx := context.Background()
	s, idx, _, arm := storedTwoPlatforms(t)
	var buf bytes.Buffer
	if err := s.Save(ctx, &buf, []string{"multi:1"}, nil); err != nil {
		t.Fatal(err)
	}
	dst, _ := newStore(t)
	loaded, err := dst.Load(ctx, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	if len(loaded) != 1 || loaded[0].Digest != want || len(loaded[0].Names) != 1 || loaded[0].Names[0] != "multi:1" {
		t.Errorf("loaded %+v, want the index %s as multi:1", loaded, want)
	}
	if _, err := dst.GetPlatform(ctx, "multi:1", v1.Platform{OS: "linux", Architecture: "arm64"}); err != nil {
		t.Errorf("arm64 image after load: %v", err)
	}

	buf.Reset()
	arm64 := v1.Platform{OS: "linux", Architecture: "arm64"}
	if err := s.Save(ctx, &buf, []string{"multi:1"}, &arm64); err != nil {
		t.Fatal(err)
	}
	dst, _ = newStore(t)
	if loaded, err = dst.Load(ctx, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || loaded[0].Digest != testutil.ImageDigest(t, arm) {
		t.Errorf("save --platform linux/arm64 loaded %+v, want the arm64 image", loaded)
	}

	if err := s.Tag(ctx, "single:1", arm); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, &buf, []string{"single:1", "multi:1"}, nil); err == nil || !strings.Contains(err.Error(), "--platform") {
		t.Errorf("save of an index with an image = %v, want a refusal naming --platform", err)
	}
}

// TestDeleteIndexChild: an image of a stored index cannot be removed on
// its own by ID; a name of its own goes, the image stays for the index.
func TestDeleteIndexChild(t *testing.T) {
	ctx := context.Background()
	s, _, amd, arm := storedTwoPlatforms(t)
	if err := s.Tag(ctx, "amd:1", amd); err != nil {
		t.Fatal(err)
	}
	none := func(v1.Hash) []User { return nil }
	if _, err := s.Delete(ctx, testutil.ImageDigest(t, arm).String(), true, none); err == nil || !strings.Contains(err.Error(), "multi-platform") {
		t.Errorf("rmi of an index's arm64 image by digest = %v, want a refusal", err)
	}
	rm, err := s.Delete(ctx, "amd:1", false, none)
	if err != nil || rm.Deleted.Hex != "" {
		t.Errorf("rmi amd:1 = %+v, %v; want only untagged", rm, err)
	}
	for _, img := range []v1.Image{amd, arm} {
		if _, err := s.Get(ctx, testutil.ImageDigest(t, img).String()); err != nil {
			t.Errorf("index image gone: %v", err)
		}
	}
	ids, err := s.ImageIDs("multi:1")
	if err != nil || len(ids) != 2 || ids[1] != testutil.ImageID(t, arm) {
		t.Errorf("ImageIDs(multi:1) = %v, %v; want both images' IDs", ids, err)
	}
}

// TestTagIndexNested: an index of indexes is stored whole and Get finds
// the platform inside; nesting deeper than maxIndexDepth is refused.
func TestTagIndexNested(t *testing.T) {
	ctx := context.Background()
	inner, _, arm := twoPlatforms(t)
	wrap := func(ix v1.ImageIndex) v1.ImageIndex {
		return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), mutate.IndexAddendum{Add: ix})
	}
	s, _ := newStore(t)
	if err := s.TagIndex(ctx, "nested:1", wrap(inner)); err != nil {
		t.Fatal(err)
	}
	img, err := s.GetPlatform(ctx, "nested:1", v1.Platform{OS: "linux", Architecture: "arm64"})
	if err != nil || testutil.ImageDigest(t, img) != testutil.ImageDigest(t, arm) {
		t.Errorf("arm64 inside a nested index: %v", err)
	}
	deep := inner
	for range maxIndexDepth + 1 {
		deep = wrap(deep)
	}
	if err := s.TagIndex(ctx, "deep:1", deep); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Errorf("TagIndex of %d nested indexes = %v, want a refusal", maxIndexDepth+2, err)
	}
	if _, err := s.Get(ctx, "deep:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused index was named: %v", err)
	}
}

// TestDiskUsageIndex: system df counts every platform's blobs of an
// index, and an index whose arm64 image a container uses is active.
func TestDiskUsageIndex(t *testing.T) {
	ctx := context.Background()
	s, idx, amd, arm := storedTwoPlatforms(t)
	var want int64
	for _, img := range []v1.Image{amd, arm} {
		m, _ := img.Manifest()
		raw, _ := img.RawManifest()
		want += m.Config.Size + int64(len(raw))
		for _, l := range m.Layers {
			want += l.Size
		}
	}
	raw, _ := idx.RawManifest()
	want += int64(len(raw))
	u, err := s.DiskUsage(ctx, map[string]bool{testutil.ImageID(t, arm).String(): true})
	if err != nil {
		t.Fatal(err)
	}
	if u.Total != 1 || u.Active != 1 || u.Size != want || u.Reclaimable != 0 {
		t.Errorf("DiskUsage = %+v, want 1 image, active, %d bytes, none reclaimable", u, want)
	}
}

// TestPushIndexMounts: a second push of an index to another repository
// of the registry mounts every blob of every platform, sending none.
func TestPushIndexMounts(t *testing.T) {
	ctx := context.Background()
	host, u, pr := mountRegistry(t)
	s := quickStore(t)
	idx, amd, arm := twoPlatforms(t)
	if err := s.TagIndex(ctx, "multi:1", idx); err != nil {
		t.Fatal(err)
	}
	gi, err := s.GetIndex(ctx, "multi:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PushIndex(ctx, host+"/a/multi:1", gi, PushOptions{}); err != nil {
		t.Fatal(err)
	}
	u.reset()
	if _, err := s.PushIndex(ctx, host+"/b/multi:1", gi, PushOptions{}); err != nil {
		t.Fatal(err)
	}
	want := len(blobDigestsOf(t, amd)) + len(blobDigestsOf(t, arm))
	if bodies, kinds := u.reset(); bodies != 0 || kinds["MOUNT"] != want || pr.mounts != want {
		t.Errorf("second push: %d bodies, requests %v, %d mounts granted; want %d mounts", bodies, kinds, pr.mounts, want)
	}
}

// TestInspectForeignIndex: an index without the host's platform is
// inspected by its first image; --platform still must match.
func TestInspectForeignIndex(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	arm := platformImage(t, "linux/arm64", time.Unix(1, 0))
	idx := testutil.MultiIndex(t, arm, platformImage(t, "linux/arm/v7", time.Unix(2, 0)))
	if err := s.TagIndex(ctx, "foreign:1", idx); err != nil {
		t.Fatal(err)
	}
	ii, err := s.Inspect(ctx, "foreign:1", nil)
	d, _ := idx.Digest()
	if err != nil || ii.Architecture != "arm64" || ii.ID != d.String() || len(ii.RepoTags) != 1 {
		t.Errorf("Inspect = %+v, %v; want the arm64 image under the index's ID and name", ii, err)
	}
	if _, err := s.Inspect(ctx, "foreign:1", &v1.Platform{OS: "linux", Architecture: "amd64"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Inspect --platform linux/amd64 = %v, want ErrNotFound", err)
	}
}
