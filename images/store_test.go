package images

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/lade-build/lade/internal/testutil"
)

func TestNames(t *testing.T) {
	tests := []struct{ in, canonical, familiar string }{
		{"app", "docker.io/library/app:latest", "app:latest"},
		{"app:1.0", "docker.io/library/app:1.0", "app:1.0"},
		{"docker.io/library/app", "docker.io/library/app:latest", "app:latest"},
		{"index.docker.io/user/app:v2", "docker.io/user/app:v2", "user/app:v2"},
		{"127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest", "127.0.0.1:5000/busybox:latest"},
		{"ghcr.io/org/tool:edge", "ghcr.io/org/tool:edge", "ghcr.io/org/tool:edge"},
		{"docker.io/library/a/b:x", "docker.io/library/a/b:x", "library/a/b:x"},
	}
	for _, tt := range tests {
		c, err := normalize(tt.in)
		if err != nil {
			t.Fatalf("normalize(%q): %v", tt.in, err)
		}
		if diff := cmp.Diff([]string{tt.canonical, tt.familiar}, []string{c, familiar(c)}); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.in, diff)
		}
	}
	for _, bad := range []string{"UPPER", "app@sha256:" + strings.Repeat("a", 64), ""} {
		if _, err := normalize(bad); err == nil {
			t.Errorf("normalize(%q) succeeded", bad)
		}
	}
}

func TestTagGetListUntag(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	app := randomImage(t, 3, t0)
	bb := randomImage(t, 1, t0.Add(time.Hour))
	appD, bbD := testutil.ImageDigest(t, app), testutil.ImageDigest(t, bb)

	for _, tag := range []struct {
		name string
		img  v1.Image
	}{{"app", app}, {"app:1.0", app}, {"127.0.0.1:5000/busybox", bb}} {
		if err := s.Tag(ctx, tag.name, tag.img); err != nil {
			t.Fatalf("Tag %s: %v", tag.name, err)
		}
	}

	gets := []struct {
		ref  string
		want v1.Hash
	}{
		{"app", appD},
		{"app:latest", appD},
		{"docker.io/library/app:1.0", appD},
		{"index.docker.io/library/app", appD},
		{"127.0.0.1:5000/busybox:latest", bbD},
		{appD.String(), appD},
		{"sha256:" + appD.Hex[:10], appD},
		{bbD.Hex[:12], bbD},
		{"anything@" + bbD.String(), bbD},
	}
	for _, g := range gets {
		img, err := s.Get(ctx, g.ref)
		if err != nil {
			t.Fatalf("Get(%q): %v", g.ref, err)
		}
		wantImage(t, "Get("+g.ref+")", img, g.want)
	}

	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Names: []string{"127.0.0.1:5000/busybox:latest"}, Digest: bbD, ID: testutil.ImageID(t, bb), Created: t0.Add(time.Hour), Size: imageSize(t, bb)},
		{Names: []string{"app:1.0", "app:latest"}, Digest: appD, ID: testutil.ImageID(t, app), Created: t0, Size: imageSize(t, app)},
	}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}

	if err := s.Untag(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "app"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Untag: %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "app:1.0"); err != nil {
		t.Fatalf("other tag lost: %v", err)
	}
	if err := s.Untag(ctx, "app:1.0"); err != nil {
		t.Fatal(err)
	}
	if err := s.Untag(ctx, "app:1.0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Untag: %v, want ErrNotFound", err)
	}
	list, err = s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[:1], list); diff != "" {
		t.Errorf("List after Untag (-want +got):\n%s", diff)
	}
}

func imageSize(t *testing.T, img v1.Image) int64 {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

func TestGetNotFound(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	for _, ref := range []string{"nope", "sha256:abc", "abcdef", "nope@sha256:" + strings.Repeat("0", 64)} {
		if _, err := s.Get(ctx, ref); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", ref, err)
		}
	}
}

func TestRetagLeavesUntaggedImage(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	old := randomImage(t, 1, time.Unix(100, 0))
	cur := randomImage(t, 1, time.Unix(200, 0))
	for _, img := range []v1.Image{old, cur} {
		if err := s.Tag(ctx, "app", img); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Store(ctx, randomImage(t, 1, time.Unix(50, 0))); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names [][]string
	for _, e := range list {
		names = append(names, e.Names)
	}
	if diff := cmp.Diff([][]string{{"app:latest"}, nil, nil}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if list[1].Digest != testutil.ImageDigest(t, old) {
		t.Errorf("untagged entry %s, want old image %s", list[1].Digest, testutil.ImageDigest(t, old))
	}
	// An untagged image is still reachable by digest, and removable by it.
	if _, err := s.Get(ctx, testutil.ImageDigest(t, old).String()); err != nil {
		t.Fatal(err)
	}
	if err := s.Untag(ctx, testutil.ImageDigest(t, old).String()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, testutil.ImageDigest(t, old).String()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get removed image: %v", err)
	}
}

// TestConcurrentTag tags from many goroutines, each with its own Store on
// the shared root as a separate process would, and checks nothing is lost.
func TestConcurrentTag(t *testing.T) {
	ctx := context.Background()
	s, content := newStore(t)
	const n = 8
	imgs := make([]v1.Image, n)
	for i := range imgs {
		imgs[i] = randomImage(t, 2, time.Unix(int64(i), 0))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := Open(s.root, content)
			if err == nil {
				err = st.Tag(ctx, fmt.Sprintf("img%d", i), imgs[i])
			}
			if err == nil {
				// Everyone also tags a shared name with a shared image.
				err = st.Tag(ctx, "shared", imgs[0])
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Tag %d: %v", i, err)
		}
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range list {
		got = append(got, e.Names...)
	}
	sort.Strings(got)
	want := []string{"shared:latest"}
	for i := range n {
		want = append(want, fmt.Sprintf("img%d:latest", i))
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names after concurrent Tag (-want +got):\n%s", diff)
	}
	for i := range n {
		img, err := s.Get(ctx, fmt.Sprintf("img%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if testutil.ImageDigest(t, img) != testutil.ImageDigest(t, imgs[i]) {
			t.Errorf("img%d has the wrong digest", i)
		}
	}
}

// TestStoredImageLayers checks the store-backed image serves content
// layers whose uncompressed bytes match the original image.
func TestStoredImageLayers(t *testing.T) {
	ctx := context.Background()
	s, img := storeWith(t, "x", 2)
	got, err := s.Get(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Layers()
	have, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(have) != len(want) {
		t.Fatalf("%d layers, want %d", len(have), len(want))
	}
	for i := range want {
		wd, _ := want[i].DiffID()
		hd, _ := have[i].DiffID()
		if wd != hd {
			t.Errorf("layer %d diff id %s, want %s", i, hd, wd)
		}
		l, err := got.LayerByDiffID(wd)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Layer(l); err != nil {
			t.Errorf("layer %d: %v", i, err)
		}
	}
	// A store-backed image can be tagged again without re-reading blobs.
	if err := s.Tag(ctx, "y", got); err != nil {
		t.Fatal(err)
	}
}
