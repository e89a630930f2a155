package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lade-build/lade/attest"
)

// TestBuildAttestFiles: -o type=local and type=tar with --provenance and
// --sbom write provenance.json and sbom.spdx.json beside the files, as
// BuildKit: in-toto statements whose subjects are the exported files with
// their sha256 (a hard link as its file).
func TestBuildAttestFiles(t *testing.T) {
	root := newRoot(t)
	dir := writeTree(t, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY status /var/lib/dpkg/status\nRUN echo x > /a && ln /a /link\n",
		"status":     attestDpkgStatus,
	})
	sum := sha256.Sum256([]byte(attestDpkgStatus))
	local, tarFile := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "out.tar")
	for _, tc := range []struct {
		out   string
		files func(t *testing.T) map[string]string
	}{
		{"type=local,dest=" + local, func(t *testing.T) map[string]string { return readFiles(t, local) }},
		{"type=tar,dest=" + tarFile, func(t *testing.T) map[string]string {
			b, err := os.ReadFile(tarFile)
			if err != nil {
				t.Fatal(err)
			}
			return tarFiles(t, b)
		}},
	} {
		t.Run(strings.SplitN(tc.out, ",", 2)[0], func(t *testing.T) {
			r := lade(t, root, "", "build", "--provenance=mode=max", "--sbom=true", "-o", tc.out, dir)
			if r.code != 0 {
				t.Fatalf("build: %s", r.stderr)
			}
			files := tc.files(t)
			want := map[string]string{"/provenance.json": attest.PredicateSLSA1, "/sbom.spdx.json": attest.PredicateSPDX}
			for f, pred := range want {
				var st attest.Statement
				if err := json.Unmarshal([]byte(files[f]), &st); err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				subj := map[string]string{}
				for _, s := range st.Subject {
					subj[s.Name] = s.Digest["sha256"]
				}
				if st.PredicateType != pred || subj["var/lib/dpkg/status"] != hex.EncodeToString(sum[:]) ||
					subj["link"] != subj["a"] || subj["a"] == "" || subj["bin/busybox"] == "" {
					t.Errorf("%s: type %s, subjects %v", f, st.PredicateType, subj)
				}
			}
			if !strings.Contains(files["/sbom.spdx.json"], `"name": "hello"`) {
				t.Errorf("SBOM without the dpkg package:\n%s", files["/sbom.spdx.json"])
			}
		})
	}
}
