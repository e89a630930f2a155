package attest

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/lade-build/lade/internal/testutil"
)

var amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}

// TestIndexLayout: every image is followed by an attestation manifest
// in BuildKit's layout.
func TestIndexLayout(t *testing.T) {
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	subj := Subjects(d, []string{"reg.example/app:1"}, amd64)
	st, err := Provenance(Build{Mode: ModeMin, Platform: amd64}, subj)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := Index([]Attached{{Image: img, Platform: amd64, Statements: []Statement{st}}})
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if child, err := idx.Image(im.Manifests[0].Digest); err != nil || validate.Image(child) != nil {
		t.Fatalf("image entry: %v", err)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("index has %d entries, want 2", len(im.Manifests))
	}
	att := im.Manifests[1]
	got := []string{att.Platform.OS + "/" + att.Platform.Architecture, att.Annotations[AnnotationReferenceType], att.Annotations[AnnotationReferenceDigest]}
	if d := cmp.Diff([]string{"unknown/unknown", "attestation-manifest", d.String()}, got); d != "" {
		t.Errorf("attestation entry (-want +got):\n%s", d)
	}
	ai, err := idx.Image(att.Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := ai.Manifest()
	if len(m.Layers) != 1 || m.Layers[0].MediaType != MediaTypeInToto || m.Layers[0].Annotations[AnnotationPredicateType] != PredicateSLSA1 {
		t.Fatalf("attestation layers: %+v", m.Layers)
	}
	ls, _ := ai.Layers()
	rc, _ := ls[0].Uncompressed()
	var back Statement
	if err := json.NewDecoder(rc).Decode(&back); err != nil {
		t.Fatal(err)
	}
	if back.Subject[0].Name != "pkg:docker/reg.example/app@1?platform=linux%2Famd64" || back.Subject[0].Digest["sha256"] != d.Hex {
		t.Errorf("subject = %+v, want the image's manifest digest", back.Subject)
	}
}

// TestProvenanceModes: min leaves out args, secrets and the Dockerfile;
// max has them, but never a secret's value; v0.2 on request.
func TestProvenanceModes(t *testing.T) {
	base := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	b := Build{
		Platform: amd64, Builder: amd64, DockerfileName: "Dockerfile", Dockerfile: []byte("FROM debian\n"),
		BuildArgs: map[string]string{"V": "1"}, Secrets: []string{"tok"},
		Bases:   []Base{{Ref: "debian:bookworm", Platform: amd64, Digest: base}},
		Context: Context{Digest: "sha256:cc", Git: &Git{Remote: "https://example.com/r.git", Commit: "0123"}},
		Started: time.Unix(0, 0), Finished: time.Unix(1, 0),
	}
	tests := []struct {
		mode, version, predicate string
		has, hasNot              []string
	}{
		{ModeMin, SLSA1, PredicateSLSA1,
			[]string{`"uri":"pkg:docker/debian@bookworm?platform=linux%2Famd64","digest":{"sha256":"` + base.Hex, `"revision":"0123"`, `"source":"https://example.com/r.git"`},
			[]string{"build-arg:V", "tok", "sha256:cc", "RlJPTSBkZWJpYW4K"}},
		{ModeMax, SLSA1, PredicateSLSA1,
			[]string{`"build-arg:V":"1"`, `"secrets":[{"id":"tok"}]`, `"context":"sha256:cc"`, "RlJPTSBkZWJpYW4K", `"resolvedDependencies"`},
			[]string{"s3cret"}},
		{ModeMax, SLSA02, PredicateSLSA02,
			[]string{`"materials":[{"uri":"pkg:docker/debian@bookworm`, `"build-arg:V":"1"`, `"entryPoint":"Dockerfile"`},
			nil},
	}
	for _, tc := range tests {
		b.Mode, b.Version = tc.mode, tc.version
		st, err := Provenance(b, Subjects(base, nil, amd64))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(st)
		if st.PredicateType != tc.predicate {
			t.Errorf("%s %s: predicate type %s, want %s", tc.mode, tc.version, st.PredicateType, tc.predicate)
		}
		for _, s := range tc.has {
			if !strings.Contains(string(data), s) {
				t.Errorf("%s %s: provenance lacks %s:\n%s", tc.mode, tc.version, s, data)
			}
		}
		for _, s := range tc.hasNot {
			if strings.Contains(string(data), s) {
				t.Errorf("%s %s: provenance has %s:\n%s", tc.mode, tc.version, s, data)
			}
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		prov, sbom string
		attest     []string
		want       Request
		err        string
	}{
		{prov: "true", want: Request{Provenance: true, Mode: ModeMin, Version: SLSA1}},
		{prov: "mode=max,version=v0.2", want: Request{Provenance: true, Mode: ModeMax, Version: SLSA02}},
		{prov: "false"},
		{sbom: "true", want: Request{SBOM: true}},
		{attest: []string{"type=provenance,mode=max", "type=sbom"}, want: Request{Provenance: true, Mode: ModeMax, Version: SLSA1, SBOM: true}},
		{prov: "mode=all", err: `provenance mode "all"`},
		{prov: "version=v2", err: `provenance version "v2"`},
		{attest: []string{"type=vex"}, err: "type must be provenance or sbom"},
	}
	for _, tc := range tests {
		got, err := Parse(tc.prov, tc.sbom, tc.attest)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q, %q, %q) error = %v, want %q", tc.prov, tc.sbom, tc.attest, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q, %q, %q) = %+v, %v, want %+v", tc.prov, tc.sbom, tc.attest, got, err, tc.want)
		}
	}
}

// TestSBOMDocument: an SPDX 2.3 document with a purl per package and only
// valid SPDX license expressions.
func TestSBOMDocument(t *testing.T) {
	var s Scanner
	if err := s.ScanDir(t.Context(), syntheticRootfs(t)); err != nil {
		t.Fatal(err)
	}
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)}
	st := SBOM(&s, "app", Subjects(d, nil, amd64), time.Unix(0, 0))
	data, _ := json.Marshal(st)
	var doc spdxDocument
	if err := json.Unmarshal(data, &struct{ Predicate *spdxDocument }{&doc}); err != nil {
		t.Fatal(err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || st.PredicateType != PredicateSPDX || doc.CreationInfo.Created != "1970-01-01T00:00:00Z" {
		t.Errorf("document header: %s %s %s", doc.SPDXVersion, st.PredicateType, doc.CreationInfo.Created)
	}
	got := map[string]string{}
	for _, p := range doc.Packages[1:] {
		got[p.ExternalRefs[0].Locator] = p.LicenseDeclared
	}
	want := map[string]string{
		"pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12": "NOASSERTION",
		"pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12":    "NOASSERTION",
		"pkg:deb/debian/removed-pkg@1.0?arch=amd64&distro=debian-12":           "NOASSERTION",
		"pkg:apk/debian/musl@1.2.4-r2?arch=x86_64&distro=debian-12":            "MIT",
		"pkg:apk/debian/busybox@1.36.1-r5?arch=x86_64&distro=debian-12":        "GPL-2.0-only",
		"pkg:npm/left-pad@1.3.0":       "WTFPL",
		"pkg:npm/%40types/node@20.1.0": "MIT",
		"pkg:pypi/requests@2.31.0":     "NOASSERTION",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("packages (-want +got):\n%s", d)
	}
}

// TestGitInfo: the checkout's commit, its origin without credentials,
// and whether tracked files changed.
func TestGitInfo(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		testutil.Unavailable(t, "git not found")
	}
	dir := t.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command(git, append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if g := GitInfo(t.Context(), dir); g != nil {
		t.Fatalf("GitInfo of a plain dir = %+v, want nil", g)
	}
	run("init", "-q")
	testutil.WriteTree(t, dir, map[string]string{"Dockerfile": "FROM scratch\n"})
	run("add", "Dockerfile")
	run("commit", "-q", "-m", "x")
	run("remote", "add", "origin", "https://user:s3cret@example.com/r.git")
	want := Git{Remote: "https://example.com/r.git", Commit: run("rev-parse", "HEAD")}
	if g := GitInfo(t.Context(), dir); g == nil || *g != want {
		t.Errorf("GitInfo = %+v, want %+v", g, want)
	}
	testutil.WriteTree(t, dir, map[string]string{"Dockerfile": "FROM busybox\n"})
	want.Dirty = true
	if g := GitInfo(t.Context(), dir); g == nil || *g != want {
		t.Errorf("GitInfo of a changed checkout = %+v, want %+v", g, want)
	}
}
