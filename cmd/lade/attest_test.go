package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/attest"
	"github.com/lade-build/lade/internal/testroot"
	"github.com/lade-build/lade/internal/testutil"
)

const attestDpkgStatus = "Package: hello\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.10-3\n"

// attestations reads the statements of idx's attestation manifest for
// the image entry img, by predicate type.
func attestations(t *testing.T, idx v1.ImageIndex, img v1.Hash) map[string]map[string]any {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, d := range im.Manifests {
		if !attest.IsAttestation(d) || d.Annotations[attest.AnnotationReferenceDigest] != img.String() {
			continue
		}
		if d.Platform == nil || d.Platform.OS != "unknown" || d.Platform.Architecture != "unknown" {
			t.Errorf("attestation manifest platform %+v, want unknown/unknown", d.Platform)
		}
		ai, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		ls, _ := ai.Layers()
		for _, l := range ls {
			rc, _ := l.Uncompressed()
			var st map[string]any
			if err := json.NewDecoder(rc).Decode(&st); err != nil {
				t.Fatal(err)
			}
			rc.Close()
			out[st["predicateType"].(string)] = st
		}
	}
	return out
}

// imageEntry is the digest of idx's image for linux/arch.
func imageEntry(t *testing.T, idx v1.ImageIndex, arch string) v1.Hash {
	t.Helper()
	im, _ := idx.IndexManifest()
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == arch {
			return d.Digest
		}
	}
	t.Fatalf("no linux/%s image in the index", arch)
	return v1.Hash{}
}

// TestBuildAttestPush: --provenance=mode=max --sbom pushes an index whose
// attestation manifest says the image was built from busybox (its
// manifest digest), with the build arg, and lists the dpkg package; the
// same is in -o type=oci; type=docker skips them with a note.
func TestBuildAttestPush(t *testing.T) {
	root := newRoot(t)
	host := testRegistry(t, nil)
	dir := writeTree(t, map[string]string{
		"Dockerfile": "FROM busybox\nARG V\nCOPY status /var/lib/dpkg/status\n",
		"status":     attestDpkgStatus,
	})
	ref := host + "/lade/att:v1"
	ociTar := filepath.Join(t.TempDir(), "oci.tar")
	dockerTar := filepath.Join(t.TempDir(), "docker.tar")
	args := []string{"build", "--provenance=mode=max", "--sbom=true", "--build-arg", "V=42", "--secret", "id=tok,env=PATH", "-t", ref}
	for _, out := range [][]string{{"--push"}, {"-o", "type=oci,dest=" + ociTar, "-o", "type=docker,dest=" + dockerTar}} {
		r := lade(t, root, "", append(append(args, out...), dir)...)
		if r.code != 0 {
			t.Fatalf("build %v: %s", out, r.stderr)
		}
		if note := strings.Contains(r.stderr, "attestations are not exported to type=docker"); note != (out[0] == "-o") {
			t.Errorf("build %v: note for type=docker %v:\n%s", out, note, r.stderr)
		}
	}
	bd := testutil.ImageDigest(t, testutil.BusyboxImage(t))
	idx := testutil.RemoteIndex(t, ref)
	img := imageEntry(t, idx, "amd64")
	checkAttestations(t, idx, img, bd)

	checkAttestations(t, ociIndex(t, ociTar), img, bd)
}

// TestBuildAttestStoredIndex: a multi-platform build stored under a name
// keeps each platform's attestation manifest in the stored index.
func TestBuildAttestStoredIndex(t *testing.T) {
	root := newRoot(t)
	testroot.SeedBusyboxMulti(t, root, "busybox:latest")
	dir := writeTree(t, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY status /var/lib/dpkg/status\n",
		"status":     attestDpkgStatus,
	})
	r := lade(t, root, "", "build", "--platform", "linux/amd64,linux/arm64", "--attest", "type=sbom", "--attest", "type=provenance,version=v0.2", "-t", "multi:att", dir)
	if r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	idx, err := testroot.Store(t, root).GetIndex(t.Context(), "multi:att")
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		sts := attestations(t, idx, imageEntry(t, idx, arch))
		if sts[attest.PredicateSLSA02] == nil || sts[attest.PredicateSPDX] == nil {
			t.Errorf("linux/%s: attestations %v, want SLSA v0.2 provenance and an SBOM", arch, sts)
		}
	}
	// lade push sends them with the index.
	ref := testRegistry(t, nil) + "/lade/multi:att"
	if r := lade(t, root, "", "tag", "multi:att", ref); r.code != 0 {
		t.Fatalf("tag: %s", r.stderr)
	}
	if r := lade(t, root, "", "push", ref); r.code != 0 {
		t.Fatalf("push: %s", r.stderr)
	}
	pushed := testutil.RemoteIndex(t, ref)
	if sts := attestations(t, pushed, imageEntry(t, pushed, "arm64")); sts[attest.PredicateSPDX] == nil {
		t.Errorf("pushed index: attestations %v, want an SBOM", sts)
	}
	// The attestation manifests are no images of their own.
	ls := lade(t, root, "", "images", "--tree")
	if ls.code != 0 || strings.Contains(ls.stdout, "<none>") || strings.Contains(ls.stdout, "unknown") {
		t.Errorf("images --tree:\n%s%s", ls.stdout, ls.stderr)
	}
}

func checkAttestations(t *testing.T, idx v1.ImageIndex, img, base v1.Hash) {
	t.Helper()
	sts := attestations(t, idx, img)
	prov, sbom := sts[attest.PredicateSLSA1], sts[attest.PredicateSPDX]
	if prov == nil || sbom == nil {
		t.Fatalf("attestations: %v, want provenance and SBOM", sts)
	}
	p, _ := json.Marshal(prov)
	for _, want := range []string{
		`"sha256":"` + img.Hex + `"`,                                                              // subject
		`"uri":"pkg:docker/busybox@latest?platform=linux%2Famd64"`, `"sha256":"` + base.Hex + `"`, // base
		`"build-arg:V":"42"`, `"secrets":[{"id":"tok"}]`,
	} {
		if !strings.Contains(string(p), want) {
			t.Errorf("provenance lacks %s:\n%s", want, p)
		}
	}
	if strings.Contains(string(p), "/usr/bin") {
		t.Errorf("provenance holds a secret's value:\n%s", p)
	}
	s, _ := json.Marshal(sbom)
	if !strings.Contains(string(s), `"pkg:deb/debian/hello@2.10-3?arch=amd64"`) || !strings.Contains(string(s), `"spdxVersion":"SPDX-2.3"`) {
		t.Errorf("SBOM lacks the dpkg package:\n%s", s)
	}
}
