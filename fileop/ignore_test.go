package fileop

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadDockerignore(t *testing.T) {
	tests := []struct {
		name       string
		files      []node
		dockerfile string
		want       []string
	}{
		{"none", nil, "Dockerfile", nil},
		{"context", []node{file(".dockerignore", "# c\n/abs\n./rel\n!keep\n\n")}, "Dockerfile", []string{"abs", "rel", "!keep"}},
		{"dockerfile specific wins", []node{file(".dockerignore", "a"), file("Dockerfile.dockerignore", "b")}, "Dockerfile", []string{"b"}},
		{"named dockerfile", []node{file(".dockerignore", "a"), file("sub/app.Dockerfile.dockerignore", "c")}, "sub/app.Dockerfile", []string{"c"}},
		{"other dockerfile's file ignored", []node{file(".dockerignore", "a"), file("Dockerfile.dockerignore", "b")}, "app.Dockerfile", []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mkTree(t, dir, tt.files...)
			got, err := ReadDockerignore(dir, filepath.Join(dir, tt.dockerfile))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// The context .dockerignore is read in-root.
	dir, outside := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "x"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	mkTree(t, dir, symlink(".dockerignore", filepath.Join(outside, "x")))
	if got, err := ReadDockerignore(dir, ""); err != nil || got != nil {
		t.Errorf("symlinked .dockerignore: %v %v", got, err)
	}
}

func TestMatcher(t *testing.T) {
	m, err := NewMatcher([]string{"node_modules", "logs/*.log", "!logs/important.log", "**/*.env", "/abs", "./dot", "build/"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rel   string
		isDir bool
		want  bool
	}{
		{"node_modules", true, true},
		{"node_modules/pkg/i.js", false, true},
		{"logs", true, false},
		{"logs/a.log", false, true},
		{"logs/important.log", false, false},
		{"secret.env", false, true},
		{"a/b/c.env", false, true},
		{"abs", false, true},
		{"/abs/x", false, true},
		{"dot", false, true},
		{"./dot/y", false, true},
		{"build/out", false, true},
		{"main.go", false, false},
		{"", true, false},
		{".", true, false},
	}
	for _, tt := range tests {
		got, err := m.Excluded(tt.rel, tt.isDir)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("Excluded(%q) = %v, want %v", tt.rel, got, tt.want)
		}
	}
	if !m.Exclusions() {
		t.Error("Exclusions() = false")
	}
	var nilM *Matcher
	if ex, err := nilM.Excluded("x", false); ex || err != nil {
		t.Error("nil matcher excluded something")
	}
	if _, err := NewMatcher([]string{"!"}); err == nil {
		t.Error("lone ! accepted")
	}
}

func TestParseChmod(t *testing.T) {
	tests := []struct {
		spec  string
		in    uint32
		isDir bool
		want  uint32
		bad   bool
	}{
		{"0750", 0o644, false, 0o750, false},
		{"600", 0o755, true, 0o600, false},
		{"4755", 0o644, false, 0o4755, false},
		{"u+x", 0o644, false, 0o744, false},
		{"g-w,o-rwx", 0o775, false, 0o750, false},
		{"a=rX", 0o644, true, 0o555, false},
		{"a=rX", 0o644, false, 0o444, false},
		{"+x", 0o644, false, 0o755, false},
		{"u=rw,go=r", 0o777, false, 0o644, false},
		{"u+s", 0o755, false, 0o4755, false},
		{"10000", 0, false, 0, true},
		{"9", 0, false, 0, true},
		{"u+q", 0, false, 0, true},
		{"z+x", 0, false, 0, true},
	}
	for _, tt := range tests {
		f, err := parseChmod(tt.spec)
		if tt.bad {
			if err == nil {
				t.Errorf("parseChmod(%q) accepted", tt.spec)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseChmod(%q): %v", tt.spec, err)
			continue
		}
		if got := f(tt.in, tt.isDir); got != tt.want {
			t.Errorf("parseChmod(%q)(%o) = %o, want %o", tt.spec, tt.in, got, tt.want)
		}
	}
}
