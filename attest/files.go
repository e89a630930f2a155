package attest

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/lade-build/lade/exporter"
)

// fileNames are the names BuildKit gives statements in a local export.
var fileNames = map[string]string{
	PredicateSLSA1:  "provenance.json",
	PredicateSLSA02: "provenance.json",
	PredicateSPDX:   "sbom.spdx.json",
}

// Files are statements as files of a local or tar export of img, as
// BuildKit's local and tar exporters write them beside the exported
// files (one indented statement per file): about
// the exported files rather than a manifest, as BuildKit's, so each
// statement's subjects are every regular file of img's filesystem (its
// path, no leading slash, and sha256).
func Files(ctx context.Context, img v1.Image, statements []Statement) ([]exporter.ExtraFile, error) {
	subjects, err := FileSubjects(ctx, img)
	if err != nil {
		return nil, err
	}
	var out []exporter.ExtraFile
	for _, st := range statements {
		st.Subject = subjects
		data, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encoding %s statement: %w", st.PredicateType, err)
		}
		out = append(out, exporter.ExtraFile{Name: fileNames[st.PredicateType], Data: data})
	}
	return out, nil
}

// FileSubjects names every regular file of img's flattened filesystem
// (hard links as the file they link to) with its sha256, sorted by path.
func FileSubjects(ctx context.Context, img v1.Image) ([]Subject, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	digests := map[string]string{}
	var links [][2]string // link name, target
	for ctx.Err() == nil {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the image's files: %w", err)
		}
		name := cleanName(hdr.Name)
		switch hdr.Typeflag {
		case tar.TypeReg:
			h := sha256.New()
			if _, err := io.Copy(h, tr); err != nil {
				return nil, fmt.Errorf("reading %s: %w", name, err)
			}
			digests[name] = hex.EncodeToString(h.Sum(nil))
		case tar.TypeLink:
			links = append(links, [2]string{name, cleanName(hdr.Linkname)})
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, l := range links {
		if d, ok := digests[l[1]]; ok {
			digests[l[0]] = d
		}
	}
	out := make([]Subject, 0, len(digests))
	for n, d := range digests {
		out = append(out, Subject{Name: n, Digest: map[string]string{"sha256": d}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func cleanName(n string) string {
	return strings.TrimPrefix(path.Clean("/"+n), "/")
}
