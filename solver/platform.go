package solver

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/images"
)

// HostPlatform is the platform lade runs on: BUILDPLATFORM, and the
// default target.
func HostPlatform() v1.Platform { return images.DefaultPlatform() }

// ParsePlatforms reads --platform values: each a comma-separated list,
// as buildx takes them. Duplicates are dropped, order kept.
func ParsePlatforms(values []string) ([]v1.Platform, error) {
	var out []v1.Platform
	seen := map[string]bool{}
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			n, err := images.ParsePlatform(s)
			if err != nil {
				return nil, err
			}
			if n.OS != "linux" {
				return nil, fmt.Errorf("platform %s: only linux images can be built", s)
			}
			if !seen[images.PlatformString(n)] {
				seen[images.PlatformString(n)] = true
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// platformArgs are the automatic platform ARGs BuildKit defines for a
// build of target on build.
func platformArgs(target, build v1.Platform) map[string]string {
	return map[string]string{
		"TARGETPLATFORM": images.PlatformString(target), "TARGETOS": target.OS,
		"TARGETARCH": target.Architecture, "TARGETVARIANT": target.Variant,
		"BUILDPLATFORM": images.PlatformString(build), "BUILDOS": build.OS,
		"BUILDARCH": build.Architecture, "BUILDVARIANT": build.Variant,
	}
}

// platformLabel is how BuildKit names a stage's platform in progress
// lines: "linux/amd64", or "linux/amd64->arm64" for a stage that runs on
// one platform for a build targeting another.
func platformLabel(stage, target v1.Platform) string {
	s := images.PlatformString(stage)
	switch {
	case s == images.PlatformString(target):
		return s
	case stage.OS != target.OS:
		return s + "->" + images.PlatformString(target)
	case stage.Architecture != target.Architecture:
		if target.Variant != "" {
			return s + "->" + target.Architecture + "/" + target.Variant
		}
		return s + "->" + target.Architecture
	}
	return s + "->" + target.Variant
}
