package images

import (
	"errors"
	"strings"
	"testing"
)

func TestParseReference(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		ref  string
		want string // go-containerregistry's name; "" when refused
	}{
		{"busybox", "docker.io/library/busybox:latest"},
		{"docker.io/library/busybox:1.36", "docker.io/library/busybox:1.36"},
		{"127.0.0.1:5000/a/b-c_d.e:v1", "127.0.0.1:5000/a/b-c_d.e:v1"},
		{"localhost:5000/x@" + d, "localhost:5000/x@" + d},
		{"app:1@" + d, "docker.io/library/app:1@" + d},
		{"127.0.0.1:5000/../../x", ""},
		{"127.0.0.1:5000/./x", ""},
		{"127.0.0.1:5000/a/..", ""},
		{"a..b", ""},
		{"x/", ""},
		{"Upper", ""},
		{"x@sha256:abc", ""},
		{"x@md5:0123456789abcdef0123456789abcdef", ""},
		{"", ""},
	}
	for _, tt := range tests {
		r, err := ParseReference(tt.ref)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalidReference) {
				t.Errorf("ParseReference(%q) = %v, %v; want ErrInvalidReference", tt.ref, r, err)
			}
			continue
		}
		if err != nil || r.String() != tt.want {
			t.Errorf("ParseReference(%q) = %v, %v; want %s", tt.ref, r, err, tt.want)
		}
	}
	if _, err := ParseTag("x@" + d); !errors.Is(err, ErrInvalidReference) {
		t.Errorf("ParseTag of a digest: %v", err)
	}
}

func TestPlainHTTP(t *testing.T) {
	insecure := []string{"reg.example:5000", "other.example"}
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1:5000", true},
		{"127.1.2.3", true},
		{"[::1]:5000", true},
		{"localhost:5000", true},
		{"localhost", true},
		{"reg.example:5000", true},
		{"reg.example:6000", false}, // listed with another port
		{"other.example:443", true}, // listed without a port: any port
		{"127.example.com", false},  // not an address
		{"10.0.0.1:5000", false},
		{"index.docker.io", false},
	}
	for _, tt := range tests {
		if got := PlainHTTP(tt.host, insecure); got != tt.want {
			t.Errorf("PlainHTTP(%q) = %v, want %v", tt.host, got, tt.want)
		}
		reg, err := Registry(tt.host, insecure)
		if err != nil {
			t.Fatal(err)
		}
		if tt.want && reg.Scheme() != "http" {
			t.Errorf("Registry(%q).Scheme() = %s", tt.host, reg.Scheme())
		}
	}
}

func TestIsHexPrefix(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", false},
		{"0a9f", true},
		{strings.Repeat("ab", 32), true},
		{strings.Repeat("ab", 32) + "c", false},
		{"0A9F", false},
		{"abcg", false},
		{"app:1", false},
	}
	for _, tt := range tests {
		if got := isHexPrefix(tt.in); got != tt.want {
			t.Errorf("isHexPrefix(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
