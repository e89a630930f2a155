package attest

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lade-build/lade/internal/testutil"
)

const dpkgStatus = `Package: base-files
Status: install ok installed
Priority: required
Architecture: amd64
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files
 This package contains the basic filesystem hierarchy.

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Depends: libgcc-s1
`

const apkInstalled = `C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64
L:MIT
o:musl

C:Q1def=
P:busybox
V:1.36.1-r5
A:x86_64
L:GPL-2.0-only
`

const pythonMetadata = "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n\nlong description\nName: not-this\n"

// syntheticRootfs is a filesystem with one package database of each
// kind the scanner reads, and a Go binary the test builds.
func syntheticRootfs(t *testing.T) string {
	root := t.TempDir()
	testutil.WriteTree(t, root, map[string]string{
		"etc/os-release":                                                   "ID=debian\nVERSION_ID=\"12\"\n",
		"var/lib/dpkg/status":                                              dpkgStatus,
		"lib/apk/db/installed":                                             apkInstalled,
		"app/package-lock.json":                                            `{"lockfileVersion":3,"packages":{"":{"name":"app"},"node_modules/left-pad":{"version":"1.3.0","license":"WTFPL"}}}`,
		"app/node_modules/left-pad/package.json":                           `{"name":"left-pad","version":"1.3.0","license":"WTFPL"}`,
		"app/node_modules/@types/node/package.json":                        `{"name":"@types/node","version":"20.1.0","license":{"type":"MIT"}}`,
		"app/node_modules/left-pad/test/package.json":                      `{"name":"fixture","version":"0.0.1"}`,
		"usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA": pythonMetadata,
		"usr/share/doc/readme.txt":                                         "not a package",
	})
	return root
}

func TestScanDir(t *testing.T) {
	root := syntheticRootfs(t)
	var s Scanner
	if err := s.ScanDir(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range s.Packages() {
		got = append(got, strings.Join([]string{p.Type, p.Name, p.Version, p.Arch, p.License, p.Source}, " "))
	}
	want := []string{
		"apk busybox 1.36.1-r5 x86_64 GPL-2.0-only /lib/apk/db/installed",
		"apk musl 1.2.4-r2 x86_64 MIT /lib/apk/db/installed",
		"deb base-files 12.4+deb12u5 amd64  /var/lib/dpkg/status",
		"deb libc6 2.36-9+deb12u4 amd64  /var/lib/dpkg/status",
		"deb removed-pkg 1.0 amd64  /var/lib/dpkg/status",
		"npm @types/node 20.1.0  MIT /app/node_modules/@types/node/package.json",
		"npm left-pad 1.3.0  WTFPL /app/node_modules/left-pad/package.json",
		"pypi requests 2.31.0  Apache 2.0 /usr/lib/python3/dist-packages/requests-2.31.0.dist-info",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("packages (-want +got):\n%s", d)
	}
	if id, v := s.Distro(); id != "debian" || v != "12" {
		t.Errorf("Distro() = %q %q, want debian 12", id, v)
	}
}

// TestScanDpkgMatchesDpkgQuery: the SBOM lists what dpkg-query -W lists
// for the same database.
func TestScanDpkgMatchesDpkgQuery(t *testing.T) {
	dq, err := exec.LookPath("dpkg-query")
	if err != nil {
		testutil.Unavailable(t, "dpkg-query not found")
	}
	root := syntheticRootfs(t)
	admin := filepath.Join(root, "var/lib/dpkg")
	for _, d := range []string{"info", "updates"} {
		if err := os.MkdirAll(filepath.Join(admin, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(dq, "--admindir="+admin, "-W", "-f", "${Package} ${Version}\n").Output()
	if err != nil {
		t.Fatalf("dpkg-query: %v", err)
	}
	want := strings.Split(strings.TrimSpace(string(out)), "\n")
	var s Scanner
	if err := s.ScanDir(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range s.Packages() {
		if p.Type == "deb" {
			got = append(got, p.Name+" "+p.Version)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("dpkg-query -W vs scanner (-want +got):\n%s", d)
	}
}

// TestScanGoBinary: a Go binary's modules are those `go version -m` lists.
func TestScanGoBinary(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		if goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go"); os.Getenv("GOROOT") == "" {
			testutil.Unavailable(t, "go not found")
		}
	}
	root := t.TempDir()
	src := filepath.Join(t.TempDir(), "src")
	testutil.WriteTree(t, src, map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.22\n\nrequire github.com/google/go-cmp v0.7.0\n",
		"main.go": "package main\n\nimport \"github.com/google/go-cmp/cmp\"\n\nfunc main() { println(cmp.Equal(1, 1)) }\n",
	})
	gosum, err := os.ReadFile("../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "go.sum"), gosum, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "usr/local/bin/hello")
	cmd := exec.Command(goBin, "build", "-mod=mod", "-o", bin, ".")
	cmd.Dir, cmd.Env = src, append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(goBin, "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && (f[0] == "mod" || f[0] == "dep"):
			v := ""
			if len(f) > 2 {
				v = f[2]
			}
			want = append(want, f[1]+" "+v)
		case strings.HasSuffix(f0(f), ":"):
			want = append(want, "stdlib "+f1(f))
		}
	}
	var s Scanner
	if err := s.ScanDir(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range s.Packages() {
		got = append(got, p.Name+" "+p.Version)
	}
	sort.Strings(want)
	sort.Strings(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("go version -m vs scanner (-want +got):\n%s", d)
	}
}

func f0(f []string) string {
	if len(f) > 0 {
		return f[0]
	}
	return ""
}

func f1(f []string) string {
	if len(f) > 1 {
		return f[1]
	}
	return ""
}

// tarLayer is an uncompressed layer of files (path -> content; "" for a
// whiteout or opaque marker, which are empty files too).
func tarLayer(t *testing.T, files map[string]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return static.NewLayer(buf.Bytes(), types.OCIUncompressedLayer)
}

// TestScanImageLayers: a package database an upper layer deleted (a
// whiteout, an opaque dir, a file in place of a parent dir) is not
// listed; the topmost copy of a file wins.
func TestScanImageLayers(t *testing.T) {
	status := func(pkg string) string { return "Package: " + pkg + "\nStatus: install ok installed\nVersion: 1\n" }
	lower := tarLayer(t, map[string]string{
		"var/lib/dpkg/status":             status("lower"),
		"var/lib/dpkg/status.d/extra":     status("extra"),
		"lib/apk/db/installed":            "P:musl\nV:1\n",
		"app/node_modules/x/package.json": `{"name":"x","version":"1"}`,
		"srv/node_modules/y/package.json": `{"name":"y","version":"1"}`,
	})
	upper := tarLayer(t, map[string]string{
		"var/lib/dpkg/status":                status("upper"),
		"var/lib/dpkg/status.d/.wh..wh..opq": "",
		"lib/apk/db/.wh.installed":           "",
		"app":                                "now a file",
		"srv/node_modules/z/package.json":    `{"name":"z","version":"2"}`,
	})
	img, err := mutate.AppendLayers(empty.Image, lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	var s Scanner
	if err := s.ScanImage(context.Background(), img); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range s.Packages() {
		got = append(got, p.Type+" "+p.Name)
	}
	want := []string{"deb upper", "npm y", "npm z"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("packages (-want +got):\n%s", d)
	}
}

// TestScanHardLinkedDatabase: a package database that a layer stores as
// a hard link (its bytes under another name that came first) is read.
func TestScanHardLinkedDatabase(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := "Package: linked\nStatus: install ok installed\nVersion: 1\n"
	for _, h := range []*tar.Header{
		{Name: "a/status-copy", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg},
		{Name: "var/lib/dpkg/status", Mode: 0o644, Typeflag: tar.TypeLink, Linkname: "a/status-copy"},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(buf.Bytes(), types.OCIUncompressedLayer))
	if err != nil {
		t.Fatal(err)
	}
	var s Scanner
	if err := s.ScanImage(context.Background(), img); err != nil {
		t.Fatal(err)
	}
	if p := s.Packages(); len(p) != 1 || p[0].Name != "linked" {
		t.Errorf("packages = %+v, want the linked database's one", p)
	}
}
