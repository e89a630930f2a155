package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCopySourcesMissing: a COPY or ADD source that names or matches
// nothing fails or copies nothing as in BuildKit. The build context holds
// only what the build's paths match, so a wildcard that matches nothing in
// a directory no other path reaches finds the directory missing; a stage
// or image holds its whole tree, so there only a missing directory fails.
func TestCopySourcesMissing(t *testing.T) {
	root := newRoot(t)
	cases := []struct {
		name, dockerfile string
		files            map[string]string
		wantErr          string // "" builds
		tree             map[string]string
		absent           []string
	}{
		{name: "wildcard in a missing directory", dockerfile: "COPY nodir/*.txt /dst/",
			wantErr: "lstat /nodir: no such file or directory"},
		{name: "wildcard matching nothing in a directory", dockerfile: "COPY docs/*.txt /dst/",
			files: map[string]string{"docs/readme.md": "r\n"}, wantErr: "lstat /docs: no such file or directory"},
		{name: "wildcard matching nothing in a directory another COPY sends", dockerfile: "COPY docs/readme.md /r/\nCOPY docs/*.txt /dst/",
			files: map[string]string{"docs/readme.md": "r\n"}, absent: []string{"/dst"}},
		{name: "wildcard matching nothing when COPY . sends everything", dockerfile: "COPY docs/*.txt /dst/\nCOPY . /all/",
			files: map[string]string{"docs/readme.md": "r\n"}, absent: []string{"/dst"}},
		{name: "wildcard matching nothing in a directory a bind mount sends", dockerfile: "RUN --mount=type=bind,source=docs,target=/m true\nCOPY docs/*.txt /dst/",
			files: map[string]string{"docs/readme.md": "r\n"}, absent: []string{"/dst"}},
		{name: "wildcard in an empty directory", dockerfile: "COPY empty/*.txt /dst/",
			files: map[string]string{"empty/": ""}, wantErr: "lstat /empty: no such file or directory"},
		{name: "wildcard deeper in a directory", dockerfile: "COPY src/*/*.txt /dst/",
			files: map[string]string{"src/a/x.go": "x\n"}, wantErr: "lstat /src: no such file or directory"},
		{name: "wildcard in an ignored directory", dockerfile: "COPY secret/*.txt /dst/",
			files: map[string]string{"secret/a.txt": "a\n", ".dockerignore": "secret\n"}, wantErr: "lstat /secret: no such file or directory"},
		{name: "ADD wildcard in a missing directory", dockerfile: "ADD nodir/*.tar /dst/",
			wantErr: "lstat /nodir: no such file or directory"},
		{name: "missing file", dockerfile: "COPY missing.txt /dst/", wantErr: `"/missing.txt": not found`},
		{name: "ADD missing file", dockerfile: "ADD missing.tar /dst/", wantErr: `"/missing.tar": not found`},
		{name: "wildcard matching nothing at the root", dockerfile: "COPY *.nomatch /dst/",
			files: map[string]string{"a.txt": "a\n"}, absent: []string{"/dst"}},
		{name: "wildcard matching nothing beside a match", dockerfile: "COPY a.txt *.nomatch /dst/",
			files: map[string]string{"a.txt": "a\n"}, tree: map[string]string{"/dst/a.txt": `file 0644 0:0 "a\n"`}},
		{name: "stage: missing file", dockerfile: "COPY --from=base /nope /dst/", wantErr: `"/nope": not found`},
		{name: "stage: wildcard in a missing directory", dockerfile: "COPY --from=base /nodir/*.txt /dst/",
			wantErr: "lstat /nodir: no such file or directory"},
		{name: "stage: wildcard matching nothing in a directory", dockerfile: "COPY --from=base /etc/*.nomatch /dst/",
			absent: []string{"/dst"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"Dockerfile": "FROM busybox AS base\nFROM busybox\n" + tc.dockerfile + "\n"}
			for k, v := range tc.files {
				files[k] = v
			}
			dir := writeTree(t, files)
			if tc.wantErr != "" {
				r := lade(t, root, "", "build", dir)
				if r.code == 0 || !strings.Contains(r.stderr, tc.wantErr) {
					t.Fatalf("exit %d, want an error containing %q:\n%s", r.code, tc.wantErr, r.stderr)
				}
				return
			}
			checkImage(t, buildOCI(t, root, dir), buildCase{tree: tc.tree, absent: tc.absent})
		})
	}
}

// TestAddURLSources: ADD of a URL names the file after the URL's last path
// segment as written (BuildKit's frontend sets it: no pattern, redirect or
// Content-Disposition changes it) and extracts it only with --unpack=true.
func TestAddURLSources(t *testing.T) {
	root := newRoot(t)
	var arch bytes.Buffer
	zw := gzip.NewWriter(&arch)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "app/main", Typeflag: tar.TypeReg, Mode: 0o755, Size: 4})
	tw.Write([]byte("bin\n"))
	tw.Close()
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/file[1].txt":
			w.Write([]byte("one\n"))
		case "/redirect":
			http.Redirect(w, r, "/file[1].txt", http.StatusFound)
		case "/attachment":
			w.Header().Set("Content-Disposition", `attachment; filename="report.csv"`)
			w.Write([]byte("att\n"))
		case "/app.tar.gz":
			w.Write(arch.Bytes())
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	u := srv.URL
	dir := writeTree(t, map[string]string{"Dockerfile": `FROM busybox
ADD ` + u + `/file[1].txt /dst/
ADD ` + u + `/redirect /r/
ADD ` + u + `/attachment /a/
ADD ` + u + `/app.tar.gz /plain/
ADD --unpack=true ` + u + `/app.tar.gz /unpacked/
`})
	img := buildOCI(t, root, dir)
	checkImage(t, img, buildCase{
		tree: map[string]string{
			"/dst/file[1].txt":   `file 0600 0:0 "one\n"`,
			"/r/redirect":        `file 0600 0:0 "one\n"`,
			"/a/attachment":      `file 0600 0:0 "att\n"`,
			"/unpacked/app/main": `file 0755 0:0 "bin\n"`,
		},
		absent: []string{"/r/file[1].txt", "/a/report.csv", "/plain/app"},
	})
	if e, ok := img.Tree["/plain/app.tar.gz"]; !ok || e.Type != "file" || e.Content != arch.String() {
		t.Errorf("/plain/app.tar.gz: %v, want the download as it came", e)
	}
}

// TestAddUnpackFlagInCacheKey: ADD of a local archive with --unpack=false
// after the same ADD without the flag is not served from the cache: one
// extracts, the other copies the archive.
func TestAddUnpackFlagInCacheKey(t *testing.T) {
	root := newRoot(t)
	var arch bytes.Buffer
	tw := tar.NewWriter(&arch)
	tw.WriteHeader(&tar.Header{Name: "inside", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3})
	tw.Write([]byte("in\n"))
	tw.Close()
	for _, tc := range []struct {
		flag            string
		present, absent string
	}{
		{"", "/d/inside", "/d/a.tar"},
		{"--unpack=false ", "/d/a.tar", "/d/inside"},
	} {
		dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nADD " + tc.flag + "a.tar /d/\n", "a.tar": arch.String()})
		img := buildOCI(t, root, dir)
		if _, ok := img.Tree[tc.present]; !ok {
			t.Errorf("ADD %sa.tar: no %s", tc.flag, tc.present)
		}
		if _, ok := img.Tree[tc.absent]; ok {
			t.Errorf("ADD %sa.tar: %s should be absent", tc.flag, tc.absent)
		}
	}
}
