package solver

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/progress"
	"github.com/lade-build/lade/runner"
)

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
)

func TestParsePlatforms(t *testing.T) {
	tests := []struct {
		in   []string
		want string
		err  string
	}{
		{[]string{"linux/amd64,linux/arm64"}, "linux/amd64 linux/arm64", ""},
		{[]string{"linux/amd64", "linux/arm64,linux/amd64"}, "linux/amd64 linux/arm64", ""},
		{[]string{"linux/arm64/v8, linux/arm"}, "linux/arm64 linux/arm/v7", ""},
		{[]string{"linux/aarch64,linux/x86_64"}, "linux/arm64 linux/amd64", ""},
		{nil, "", ""},
		{[]string{"linux"}, "", "invalid platform"},
		{[]string{"linux/amd64,darwin/arm64"}, "", "only linux images"},
	}
	for _, tc := range tests {
		ps, err := ParsePlatforms(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePlatforms(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.String())
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("ParsePlatforms(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestPlatformLabel(t *testing.T) {
	tests := []struct {
		stage, target v1.Platform
		want          string
	}{
		{amd64, amd64, "linux/amd64"},
		{amd64, arm64, "linux/amd64->arm64"},
		{amd64, v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "linux/amd64->arm/v7"},
		{v1.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}, v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "linux/arm/v6->v7"},
	}
	for _, tc := range tests {
		if got := platformLabel(tc.stage, tc.target); got != tc.want {
			t.Errorf("platformLabel(%v, %v) = %q, want %q", tc.stage, tc.target, got, tc.want)
		}
	}
}

// platformImages serves, for every reference, busybox with a config that
// names the platform asked for: the bases of two platforms differ, as an
// index's images do.
type platformImages struct{ img v1.Image }

func (f platformImages) Resolve(_ context.Context, _ string, p v1.Platform) (v1.Image, error) {
	cf, err := f.img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	return mutate.ConfigFile(f.img, cf)
}

// envOf is the value of k in a RUN spec's env.
func envOf(s *runner.Spec, k string) string {
	v, _ := getEnv(s.Env, k)
	return v
}

// A two-platform build runs a FROM --platform=$BUILDPLATFORM stage's steps
// that read no TARGET* arg once, with one cache key for both platforms;
// the steps after ARG TARGETARCH and the target stage's run per platform,
// with their own keys and the platform args BuildKit defines.
func TestBuildPlatformsShareSteps(t *testing.T) {
	ex := newFakeExec(0)
	b, _ := newBuilder(t, ex)
	b.Images = platformImages{testutil.BusyboxImage(t)}
	df := parse(t, `FROM --platform=$BUILDPLATFORM base AS gen
RUN shared
ARG TARGETARCH
ARG BUILDPLATFORM
RUN per-target
FROM base
ARG TARGETPLATFORM
ARG TARGETVARIANT=none
COPY --from=gen /etc/passwd /out
RUN final
`)
	o := Options{Dockerfile: df, ContextDir: t.TempDir(), Progress: progress.NewPlain(nil)}
	rs, err := b.BuildPlatforms(context.Background(), o, []v1.Platform{amd64, arm64})
	if err != nil {
		t.Fatal(err)
	}
	host := HostPlatform()
	got := map[string][]string{}
	for _, s := range ex.specs {
		cmd := s.Args[len(s.Args)-1]
		got[cmd] = append(got[cmd], strings.Join([]string{envOf(s, "TARGETARCH"), envOf(s, "BUILDPLATFORM"), envOf(s, "TARGETPLATFORM"), envOf(s, "TARGETVARIANT")}, " "))
	}
	hp := host.OS + "/" + host.Architecture
	want := map[string][]string{
		"shared":     {"   "},
		"per-target": {"amd64 " + hp + "  ", "arm64 " + hp + "  "},
		"final":      {"  linux/amd64 none", "  linux/arm64 none"},
	}
	for _, v := range got {
		slices.Sort(v)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("RUN steps and their platform args (-want +got):\n%s", d)
	}
	keys := [2]map[string]bool{{}, {}}
	for i, r := range rs {
		if r.Platform.String() != []v1.Platform{amd64, arm64}[i].String() {
			t.Errorf("result %d is for %v", i, r.Platform)
		}
		cf, _ := r.Image.ConfigFile()
		if cf.Architecture != r.Platform.Architecture {
			t.Errorf("%v image config says %s", r.Platform, cf.Architecture)
		}
		for _, rec := range r.AllRecords {
			keys[i][rec.Key] = true
		}
	}
	shared := 0
	for k := range keys[0] {
		if keys[1][k] {
			shared++
		}
	}
	// The shared RUN's key only: per-target has TARGETARCH in its env,
	// the target stage another base.
	if shared != 1 {
		t.Errorf("%d step keys shared between the platforms, want 1 (the shared RUN)", shared)
	}
}

// A base of another platform than the one wanted is used as it is, with
// BuildKit's warning, and the image config keeps its real architecture.
func TestBasePlatformMismatch(t *testing.T) {
	ex := newFakeExec(0)
	b, _ := newBuilder(t, ex) // fakeImages: amd64 busybox for any platform
	df := parse(t, "FROM base\nRUN x\n")
	var out testutil.LockedBuffer
	o := Options{Dockerfile: df, ContextDir: t.TempDir(), Progress: progress.NewPlain(&out), Platform: arm64}
	r, err := b.Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	want := `WARNING: InvalidBaseImagePlatform: Base image base was pulled with platform "linux/amd64", expected "linux/arm64" for current build (line 1)`
	if !strings.Contains(out.String(), want) {
		t.Errorf("progress lacks %q:\n%s", want, out.String())
	}
	if cf, _ := r.Image.ConfigFile(); cf.Architecture != "amd64" {
		t.Errorf("image config architecture = %s, want the base's amd64", cf.Architecture)
	}
}
