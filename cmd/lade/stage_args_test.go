package main

import (
	"strings"
	"testing"
)

// TestStageInheritsParentArgs: a stage built FROM a stage sees the ARGs
// its parent declared, with their values (a --build-arg overrides them),
// and may redeclare them, as in BuildKit. The build-time value is also
// part of RUN's cache key and history: a different --build-arg on the same
// root reruns the child's RUN instead of serving the old value.
func TestStageInheritsParentArgs(t *testing.T) {
	const dockerfile = `ARG GLOBAL=g UNDECLARED=u
FROM busybox AS base
ARG VERSION=1.0
ARG GLOBAL
FROM base AS b
LABEL version=$VERSION global=$GLOBAL undeclared=x$UNDECLARED
RUN echo "$VERSION" > /v
FROM b AS redeclared
ARG VERSION=3.0
LABEL version=$VERSION
RUN echo "$VERSION" > /v
`
	root := newRoot(t)
	ctx := writeTree(t, map[string]string{"Dockerfile": dockerfile})
	tests := []struct {
		name, target string
		args         []string
		label, file  string
		runHistory   string
	}{
		{"default", "b", nil, "1.0", "1.0\n", "|2 VERSION=1.0 GLOBAL=g "},
		{"build arg", "b", []string{"--build-arg", "VERSION=2.0"}, "2.0", "2.0\n", "|2 VERSION=2.0 GLOBAL=g "},
		{"build arg again", "b", []string{"--build-arg", "VERSION=2.1"}, "2.1", "2.1\n", "|2 VERSION=2.1 GLOBAL=g "},
		{"redeclared", "redeclared", nil, "3.0", "3.0\n", "|2 VERSION=3.0 GLOBAL=g "},
		{"redeclared build arg", "redeclared", []string{"--build-arg", "VERSION=4.0"}, "4.0", "4.0\n", "|2 VERSION=4.0 GLOBAL=g "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := buildOCI(t, root, ctx, append([]string{"--target", tt.target}, tt.args...)...)
			labels, _ := im.ImageConfig()["Labels"].(map[string]any)
			if got := labels["version"]; got != tt.label {
				t.Errorf("label version = %v, want %q", got, tt.label)
			}
			if tt.target == "b" && labels["global"] != "g" {
				t.Errorf("label global = %v, want g (the parent's redeclared global ARG)", labels["global"])
			}
			if tt.target == "b" && labels["undeclared"] != "x" {
				t.Errorf("label undeclared = %v, want x: a global ARG no stage declared stays out", labels["undeclared"])
			}
			if got := im.Tree["/v"].Content; got != tt.file {
				t.Errorf("RUN saw VERSION %q, want %q", got, tt.file)
			}
			last, _ := im.History[len(im.History)-1]["created_by"].(string)
			if !strings.HasPrefix(last, "RUN "+tt.runHistory) {
				t.Errorf("RUN history %q, want prefix %q", last, "RUN "+tt.runHistory)
			}
		})
	}
}
