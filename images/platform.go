package images

import (
	"fmt"
	"runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultPlatform is the host's platform, what an index resolves to when
// no platform is asked for: linux and the architecture lade runs on.
func DefaultPlatform() v1.Platform {
	return Normalize(v1.Platform{OS: "linux", Architecture: runtime.GOARCH})
}

// ParsePlatform reads "os/arch[/variant]" (docker's --platform), normalised.
func ParsePlatform(s string) (v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return v1.Platform{}, fmt.Errorf("invalid platform %q: want os/arch[/variant]", s)
	}
	return Normalize(*p), nil
}

// Normalize spells a platform the way the OCI image spec and containerd
// do: x86_64 is amd64, aarch64 is arm64 (whose only variant, v8, is
// implied), armhf is arm/v7 and a bare arm is arm/v7.
func Normalize(p v1.Platform) v1.Platform {
	p.OS = strings.ToLower(p.OS)
	arch, variant := strings.ToLower(p.Architecture), strings.ToLower(p.Variant)
	switch arch {
	case "x86_64", "x86-64", "amd64":
		arch = "amd64"
		if variant == "v1" {
			variant = ""
		}
	case "i386", "i486", "i586", "i686", "386":
		arch, variant = "386", ""
	case "aarch64", "arm64":
		arch = "arm64"
		if variant == "8" || variant == "v8" {
			variant = ""
		}
	case "armhf":
		arch, variant = "arm", "v7"
	case "armel":
		arch, variant = "arm", "v6"
	case "arm":
		switch variant {
		case "", "7":
			variant = "v7"
		case "5", "6", "8":
			variant = "v" + variant
		}
	}
	return v1.Platform{OS: p.OS, OSVersion: p.OSVersion, OSFeatures: p.OSFeatures, Architecture: arch, Variant: variant, Features: p.Features}
}

// PlatformMatches reports whether an image for have satisfies want after
// both are normalised: same os and architecture, and the same variant
// unless want names none.
func PlatformMatches(have, want v1.Platform) bool {
	h, w := Normalize(have), Normalize(want)
	if h.OS != w.OS || h.Architecture != w.Architecture {
		return false
	}
	return w.Variant == "" || h.Variant == w.Variant
}

// PlatformString is p as docker prints it: os/arch[/variant].
func PlatformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// bestMatch returns the index of the entry of ps that best satisfies
// want: an exact variant before one picked because want names none, the
// first in index order among equals; -1 if none does.
func bestMatch(ps []*v1.Platform, want v1.Platform) int {
	best := -1
	for i, p := range ps {
		if p == nil || !PlatformMatches(*p, want) {
			continue
		}
		if Normalize(*p).Variant == Normalize(want).Variant {
			return i
		}
		if best < 0 {
			best = i
		}
	}
	return best
}
