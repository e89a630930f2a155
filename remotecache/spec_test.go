package remotecache

import (
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	valid := map[string]Spec{
		"reg.example/app:cache":                            {Type: "registry", Ref: "reg.example/app:cache", Mode: "min"},
		"type=registry,ref=r/a,mode=max,cache-mounts=true": {Type: "registry", Ref: "r/a", Mode: "max", Mounts: true},
		"type=local,dest=/c,compression=zstd":              {Type: "local", Dir: "/c", Mode: "min"},
		"type=local,src=/c":                                {Type: "local", Dir: "/c", Mode: "min"},
	}
	for in, want := range valid {
		if got, err := ParseSpec(in, To); err != nil || got != want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	// Each bad value with the part of the error that names the fault.
	invalid := map[string]string{
		"type=registry":                          "needs ref=REF",
		"type=local":                             "needs dest=DIR",
		"type=s3,ref=x":                          `type "s3" not supported`,
		"type=registry,ref=x,mode=all":           "invalid cache mode",
		"type=registry,ref=x,bogus=1":            "unknown cache option",
		"type=registry,ref=x,cache-mounts=maybe": "invalid cache-mounts",
		"type=registry,x":                        "expected key=value",
	}
	for in, want := range invalid {
		if _, err := ParseSpec(in, To); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSpec(%q) = %v, want an error with %q", in, err, want)
		}
	}
	if _, err := ParseSpec("type=local", From); err == nil || !strings.Contains(err.Error(), "needs src=DIR") {
		t.Errorf("--cache-from type=local: %v, want it to ask for src=DIR", err)
	}
	if _, err := ParseSpecs([]string{"r/a", "type=local"}, To); err == nil {
		t.Error("ParseSpecs accepted a bad second value")
	}
}
