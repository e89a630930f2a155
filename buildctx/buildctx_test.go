package buildctx

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lade-build/lade/internal/testutil"
)

func TestParseGitURL(t *testing.T) {
	tests := []struct {
		in   string
		git  bool
		want GitRef
	}{
		{"https://example.com/r.git#dev:sub/dir", true, GitRef{"https://example.com/r.git", "dev", "sub/dir"}},
		{"https://example.com/r.git", true, GitRef{Remote: "https://example.com/r.git"}},
		{"git@github.com:o/r.git#v1", true, GitRef{Remote: "git@github.com:o/r.git", Ref: "v1"}},
		{"github.com/o/r#:docs", true, GitRef{Remote: "https://github.com/o/r", Subdir: "docs"}},
		{"git://127.0.0.1/r", true, GitRef{Remote: "git://127.0.0.1/r"}},
		{"https://example.com/ctx.tar.gz", false, GitRef{}},
		{"./dir.git", false, GitRef{}},
	}
	for _, tc := range tests {
		if got := IsGitURL(tc.in); got != tc.git {
			t.Errorf("IsGitURL(%q) = %v, want %v", tc.in, got, tc.git)
		}
		if !tc.git {
			continue
		}
		if diff := cmp.Diff(tc.want, ParseGitURL(tc.in)); diff != "" {
			t.Errorf("ParseGitURL(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestParseNamed(t *testing.T) {
	abs, _ := filepath.Abs("lay")
	tests := []struct {
		in      string
		want    Named
		wantErr string
	}{
		{"base=docker-image://alpine:3", Named{Name: "base", Ref: "alpine:3"}, ""},
		{"src=./dir", Named{Name: "src", Dir: "./dir"}, ""},
		{"l=oci-layout://lay@sha256:abc", Named{Name: "l", Layout: &Layout{Dir: abs, Digest: "sha256:abc"}}, ""},
		{"l=oci-layout://lay:v1", Named{Name: "l", Layout: &Layout{Dir: abs, Tag: "v1"}}, ""},
		{"g=https://h/r.git#main", Named{Name: "g", Source: "https://h/r.git#main"}, ""},
		{"nothing", Named{}, "expected NAME=VALUE"},
		{"x=ftp://h/f", Named{}, "unsupported source"},
		{"x=-", Named{}, "stdin is only the main context"},
	}
	for _, tc := range tests {
		got, err := ParseNamed(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseNamed(%q) = %v, want error %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseNamed(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseNamed(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func tarOf(t *testing.T, entries map[string]string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return buf.Bytes()
}

// TestOpenStdin: stdin is a context tar or a Dockerfile; a hostile tar
// cannot write outside the context.
func TestOpenStdin(t *testing.T) {
	scratch := t.TempDir()
	tests := []struct {
		name       string
		in         []byte
		dockerfile string
		files      []string
		wantErr    string
	}{
		{"dockerfile", []byte("FROM busybox\n"), "FROM busybox\n", nil, ""},
		{"empty", nil, "", nil, ""},
		{"tar", tarOf(t, map[string]string{"Dockerfile": "FROM x\n", "a/b": "b"}), "", []string{"Dockerfile", "a/b"}, ""},
		{"escape", tarOf(t, map[string]string{"../../escaped": "x"}), "", nil, "escapes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.files != nil {
				// Parent dirs a tar implies are made root's, as in a
				// layer: lade runs as root or as root of its user namespace.
				testutil.RequireRoot(t)
			}
			c, err := Open(context.Background(), "-", bytes.NewReader(tc.in), scratch)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if string(c.Dockerfile) != tc.dockerfile || !c.Remote {
				t.Errorf("Dockerfile %q remote %v, want %q", c.Dockerfile, c.Remote, tc.dockerfile)
			}
			for _, f := range tc.files {
				if _, err := os.Stat(filepath.Join(c.Dir, f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	if left, _ := filepath.Glob(filepath.Join(scratch, "*")); len(left) != 0 {
		t.Errorf("Close left %v", left)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(scratch), "escaped")); err == nil {
		t.Errorf("a tar entry escaped the context")
	}
}

// TestCloneRefusesOptions: a ref that git would read as an option
// (--upload-pack runs a command) is refused before git runs.
func TestCloneRefusesOptions(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	for _, g := range []GitRef{
		{Remote: "https://127.0.0.1/r.git", Ref: "--upload-pack=touch " + marker},
		{Remote: "-c", Ref: "main"},
	} {
		err := Clone(context.Background(), g, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "invalid git reference") {
			t.Errorf("Clone(%+v) = %v, want invalid git reference", g, err)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("git ran the upload-pack command")
	}
}
