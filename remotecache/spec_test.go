package remotecache

import (
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in      string
		dir     Direction
		want    Spec
		wantErr string
	}{
		{"reg.example/app:cache", To, Spec{Type: "registry", Ref: "reg.example/app:cache", Mode: "min"}, ""},
		{"type=registry,ref=r/a,mode=max,cache-mounts=true", To, Spec{Type: "registry", Ref: "r/a", Mode: "max", Mounts: true}, ""},
		{"type=local,dest=/c,compression=zstd", To, Spec{Type: "local", Dir: "/c", Mode: "min"}, ""},
		{"type=local,src=/c", From, Spec{Type: "local", Dir: "/c", Mode: "min"}, ""},
		{"type=registry", To, Spec{}, "needs ref=REF"},
		{"type=local", To, Spec{}, "needs dest=DIR"},
		{"type=local", From, Spec{}, "needs src=DIR"},
		{"type=s3,ref=x", To, Spec{}, `type "s3" not supported`},
		{"type=registry,ref=x,mode=all", To, Spec{}, "invalid cache mode"},
		{"type=registry,ref=x,bogus=1", To, Spec{}, "unknown cache option"},
		{"type=registry,ref=x,cache-mounts=maybe", To, Spec{}, "invalid cache-mounts"},
		{"type=registry,x", To, Spec{}, "expected key=value"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSpec(tt.in, tt.dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSpec(%q) = %v, want error with %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSpec(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}
