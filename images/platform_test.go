package images

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestPlatformMatches(t *testing.T) {
	tests := []struct {
		have, want string
		match      bool
	}{
		{"linux/amd64", "linux/amd64", true},
		{"linux/amd64", "linux/x86_64", true},
		{"linux/arm64", "linux/arm64/v8", true},
		{"linux/arm64/v8", "linux/arm64", true},
		{"linux/aarch64", "linux/arm64", true},
		{"linux/arm/v7", "linux/arm", true},
		{"linux/arm", "linux/arm/v7", true},
		{"linux/arm/v6", "linux/arm/v7", false},
		{"linux/arm/v6", "linux/arm", false},
		{"linux/arm64", "linux/amd64", false},
		{"windows/amd64", "linux/amd64", false},
		{"linux/ppc64le", "linux/ppc64le", true},
	}
	for _, tc := range tests {
		h, _ := v1.ParsePlatform(tc.have)
		w, _ := v1.ParsePlatform(tc.want)
		if got := PlatformMatches(*h, *w); got != tc.match {
			t.Errorf("PlatformMatches(%s, %s) = %v, want %v", tc.have, tc.want, got, tc.match)
		}
	}
}

func TestParsePlatform(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"linux/amd64", "linux/amd64", ""},
		{"linux/arm64/v8", "linux/arm64", ""},
		{"Linux/AArch64", "linux/arm64", ""},
		{"linux/armhf", "linux/arm/v7", ""},
		{"linux", "", `invalid platform "linux"`},
	}
	for _, tc := range tests {
		p, err := ParsePlatform(tc.in)
		if tc.err != "" {
			if err == nil || err.Error()[:len(tc.err)] != tc.err {
				t.Errorf("ParsePlatform(%q) = %v, want error %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || PlatformString(p) != tc.want {
			t.Errorf("ParsePlatform(%q) = %s, %v; want %s", tc.in, PlatformString(p), err, tc.want)
		}
	}
}
