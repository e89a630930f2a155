package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildAttestReport: a single-platform build with attestations whose
// index is exported (OCI archive, push) reports the index as buildx does:
// --iidfile, -q and --metadata-file's containerimage.digest give its
// digest, and there is no containerimage.config.digest; when nothing
// exports the index (store, files) the image's ID is reported as before.
func TestBuildAttestReport(t *testing.T) {
	root := newRoot(t)
	host := testRegistry(t, nil)
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY f /f\n", "f": "x"})
	ociTar := filepath.Join(t.TempDir(), "oci.tar")
	for _, tc := range []struct {
		name  string
		out   []string
		index bool
	}{
		{"oci", []string{"-o", "type=oci,dest=" + ociTar}, true},
		{"push", []string{"-t", host + "/att/report:1", "--push"}, true},
		{"store", []string{"-t", "att-report:1"}, false},
		{"local", []string{"-o", "type=local,dest=" + t.TempDir()}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			iid, meta := filepath.Join(tmp, "iid"), filepath.Join(tmp, "meta.json")
			args := append([]string{"build", "-q", "--provenance=true", "--iidfile", iid, "--metadata-file", meta}, tc.out...)
			r := lade(t, root, "", append(args, dir)...)
			if r.code != 0 {
				t.Fatalf("build: %s", r.stderr)
			}
			id, _ := os.ReadFile(iid)
			raw, _ := os.ReadFile(meta)
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			desc, _ := m["containerimage.descriptor"].(map[string]any)
			_, hasConfig := m["containerimage.config.digest"]
			isIndex := strings.HasSuffix(desc["mediaType"].(string), "image.index.v1+json")
			if strings.TrimSpace(r.stdout) != string(id) || hasConfig == tc.index || isIndex != tc.index ||
				(tc.index && m["containerimage.digest"] != string(id)) || (!tc.index && m["containerimage.config.digest"] != string(id)) {
				t.Errorf("-q %q, iidfile %q, metadata %s", r.stdout, id, raw)
			}
			if tc.name == "oci" {
				if d, _ := ociIndex(t, ociTar).Digest(); d.String() != string(id) {
					t.Errorf("iidfile %s, OCI archive's index %s", id, d)
				}
			}
		})
	}
}
