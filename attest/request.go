package attest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Request is what a build attests: provenance (Mode, Version) and/or an
// SBOM.
type Request struct {
	Provenance    bool
	Mode, Version string
	SBOM          bool
}

// Any tells whether anything is attested.
func (r Request) Any() bool { return r.Provenance || r.SBOM }

// Parse reads buildx's flags: --provenance VALUE, --sbom VALUE and
// --attest type=provenance|sbom,... ("" for a flag not given).
func Parse(provenance, sbom string, attests []string) (Request, error) {
	var r Request
	var err error
	if provenance != "" {
		if r.Mode, r.Version, r.Provenance, err = ParseProvenance(provenance); err != nil {
			return r, fmt.Errorf("--provenance: %w", err)
		}
	}
	if sbom != "" {
		if r.SBOM, err = parseSBOM(sbom); err != nil {
			return r, fmt.Errorf("--sbom: %w", err)
		}
	}
	for _, a := range attests {
		typ, rest := attestType(a)
		switch typ {
		case "provenance":
			if r.Mode, r.Version, r.Provenance, err = ParseProvenance(a); err != nil {
				return r, fmt.Errorf("--attest: %w", err)
			}
		case "sbom":
			if r.SBOM, err = parseSBOM(rest); err != nil {
				return r, fmt.Errorf("--attest: %w", err)
			}
		default:
			return r, fmt.Errorf("--attest %q: type must be provenance or sbom", a)
		}
	}
	return r, nil
}

// attestType splits an --attest value into its type and the other keys.
func attestType(s string) (typ, rest string) {
	var others []string
	for _, f := range strings.Split(s, ",") {
		if k, v, _ := strings.Cut(f, "="); k == "type" {
			typ = v
		} else {
			others = append(others, f)
		}
	}
	return typ, strings.Join(others, ",")
}

// parseSBOM reads --sbom: true/false, or keys of which lade takes
// disabled= (generator= names BuildKit's scanner image: lade has its own).
func parseSBOM(s string) (bool, error) {
	if b, err := strconv.ParseBool(s); err == nil {
		return b, nil
	}
	on := true
	for _, f := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "", "generator", "scan-context", "scan-stage":
		case "disabled":
			on = v == "false"
		default:
			return false, fmt.Errorf("unknown key %q", k)
		}
	}
	return on, nil
}

// Statements are the statements about one platform's image: provenance
// from b and an SBOM of img's filesystem, both about its manifest digest
// under names (the image's tags).
func (r Request) Statements(ctx context.Context, img v1.Image, b Build, names []string, created time.Time) ([]Statement, error) {
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	subjects := Subjects(d, names, b.Platform)
	var out []Statement
	if r.Provenance {
		b.Mode, b.Version = r.Mode, r.Version
		st, err := Provenance(b, subjects)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	if r.SBOM {
		var s Scanner
		if err := s.ScanImage(ctx, img); err != nil {
			return nil, fmt.Errorf("scanning image for the SBOM: %w", err)
		}
		name := "image"
		if len(names) > 0 {
			name = names[0]
		}
		out = append(out, SBOM(&s, name, subjects, created))
	}
	return out, nil
}
