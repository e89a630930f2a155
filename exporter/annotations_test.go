package exporter

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestParseAnnotation(t *testing.T) {
	arm := &v1.Platform{OS: "linux", Architecture: "arm64"}
	tests := []struct {
		in      string
		want    Annotation
		wantErr string
	}{
		{"a=b", Annotation{Manifest: true, Key: "a", Value: "b"}, ""},
		{"org.x=http://y:1", Annotation{Manifest: true, Key: "org.x", Value: "http://y:1"}, ""},
		{"index:a=b", Annotation{Index: true, Key: "a", Value: "b"}, ""},
		{"manifest,index:a=", Annotation{Manifest: true, Index: true, Key: "a"}, ""},
		{"manifest[linux/arm64]:a=b", Annotation{Manifest: true, Platform: arm, Key: "a", Value: "b"}, ""},
		{"manifest-descriptor:a=b", Annotation{}, "not supported"},
		{"bogus:a=b", Annotation{}, "unknown annotation type"},
		{"novalue", Annotation{}, "expected KEY=VALUE"},
	}
	for _, tc := range tests {
		got, err := ParseAnnotation(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseAnnotation(%q) = %v, want error %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseAnnotation(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseAnnotation(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}
