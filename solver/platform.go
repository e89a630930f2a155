package solver

import (
	"fmt"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// HostPlatform is the platform lade runs on: BUILDPLATFORM, and the
// default target.
func HostPlatform() v1.Platform { return hostPlatform(runtime.GOOS, runtime.GOARCH) }

func hostPlatform(goos, goarch string) v1.Platform {
	return NormalizePlatform(v1.Platform{OS: goos, Architecture: goarch})
}

// NormalizePlatform spells a platform as BuildKit (containerd's platforms
// package) does: aarch64 is arm64 and its v8 variant is implied, x86_64
// is amd64, arm without a variant is arm/v7.
func NormalizePlatform(p v1.Platform) v1.Platform {
	p.OS = strings.ToLower(p.OS)
	p.Architecture = strings.ToLower(p.Architecture)
	p.Variant = strings.ToLower(p.Variant)
	switch p.Architecture {
	case "x86_64", "x86-64":
		p.Architecture = "amd64"
	case "i386", "i486", "i586", "i686":
		p.Architecture = "386"
	case "aarch64", "arm64":
		p.Architecture = "arm64"
		if p.Variant == "8" || p.Variant == "v8" {
			p.Variant = ""
		}
	case "armhf":
		p.Architecture, p.Variant = "arm", "v7"
	case "armel":
		p.Architecture, p.Variant = "arm", "v6"
	case "arm":
		switch p.Variant {
		case "", "7":
			p.Variant = "v7"
		case "5", "6", "8":
			p.Variant = "v" + p.Variant
		}
	}
	return p
}

// FormatPlatform is os/arch[/variant], as TARGETPLATFORM spells it.
func FormatPlatform(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

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
			p, err := v1.ParsePlatform(s)
			if err != nil {
				return nil, fmt.Errorf("invalid platform %q: %w", s, err)
			}
			n := NormalizePlatform(*p)
			if n.OS != "linux" {
				return nil, fmt.Errorf("platform %s: only linux images can be built", s)
			}
			if !seen[FormatPlatform(n)] {
				seen[FormatPlatform(n)] = true
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// platformMatches tells whether an image of platform have serves want,
// by the OCI rules after normalizing: os and architecture equal, and the
// variant too when both name one.
func platformMatches(have, want v1.Platform) bool {
	h, w := NormalizePlatform(have), NormalizePlatform(want)
	if h.OS != w.OS || h.Architecture != w.Architecture {
		return false
	}
	return h.Variant == "" || w.Variant == "" || h.Variant == w.Variant
}

// platformArgs are the automatic platform ARGs BuildKit defines for a
// build of target on build.
func platformArgs(target, build v1.Platform) map[string]string {
	return map[string]string{
		"TARGETPLATFORM": FormatPlatform(target), "TARGETOS": target.OS,
		"TARGETARCH": target.Architecture, "TARGETVARIANT": target.Variant,
		"BUILDPLATFORM": FormatPlatform(build), "BUILDOS": build.OS,
		"BUILDARCH": build.Architecture, "BUILDVARIANT": build.Variant,
	}
}

// platformLabel is how BuildKit names a stage's platform in progress
// lines: "linux/amd64", or "linux/amd64->arm64" for a stage that runs on
// one platform for a build targeting another.
func platformLabel(stage, target v1.Platform) string {
	s := FormatPlatform(stage)
	switch {
	case s == FormatPlatform(target):
		return s
	case stage.OS != target.OS:
		return s + "->" + FormatPlatform(target)
	case stage.Architecture != target.Architecture:
		if target.Variant != "" {
			return s + "->" + target.Architecture + "/" + target.Variant
		}
		return s + "->" + target.Architecture
	}
	return s + "->" + target.Variant
}
