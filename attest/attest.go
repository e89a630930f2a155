package attest

import (
	"bytes"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lade-build/lade/internal/rawimage"
)

// The names of BuildKit's attestation layout, which buildx imagetools,
// cosign and policy engines look for.
const (
	// MediaTypeInToto is an attestation layer: one in-toto statement.
	MediaTypeInToto types.MediaType = "application/vnd.in-toto+json"
	// AnnotationPredicateType on a layer names its statement's predicate.
	AnnotationPredicateType = "in-toto.io/predicate-type"
	// AnnotationReferenceType and AnnotationReferenceDigest on an index
	// entry mark it as the attestation manifest of another entry.
	AnnotationReferenceType   = "vnd.docker.reference.type"
	AnnotationReferenceDigest = "vnd.docker.reference.digest"
	ReferenceTypeAttestation  = "attestation-manifest"

	StatementType         = "https://in-toto.io/Statement/v0.1"
	PredicateSLSA1        = "https://slsa.dev/provenance/v1"
	PredicateSLSA02       = "https://slsa.dev/provenance/v0.2"
	PredicateSPDX         = "https://spdx.dev/Document"
	unknownPlatformString = "unknown"
)

// Statement is an in-toto statement (v0.1, as BuildKit writes it).
type Statement struct {
	Type          string    `json:"_type"`
	PredicateType string    `json:"predicateType"`
	Subject       []Subject `json:"subject"`
	Predicate     any       `json:"predicate"`
}

// Subject is what a statement is about: a name and its digests.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Subjects names the image manifest digest once per name (a docker purl
// with the platform, as BuildKit), or once as "_" when it has no name.
func Subjects(manifest v1.Hash, names []string, p v1.Platform) []Subject {
	dig := map[string]string{manifest.Algorithm: manifest.Hex}
	var out []Subject
	for _, n := range names {
		if u, err := imagePURL(n, &p); err == nil {
			out = append(out, Subject{Name: u, Digest: dig})
		}
	}
	if len(out) == 0 {
		out = append(out, Subject{Name: "_", Digest: dig})
	}
	return out
}

// Manifest is the attestation manifest of statements: an OCI image for
// platform unknown/unknown whose every layer is one statement, annotated
// with its predicate type. Its config is BuildKit's: the platform and the
// statements' digests as diff IDs, no creation time or history.
func Manifest(statements []Statement) (v1.Image, error) {
	layers := map[v1.Hash]v1.Layer{}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1}
	cfg := attConfig{Architecture: unknownPlatformString, OS: unknownPlatformString, Config: struct{}{}}
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = []v1.Hash{}
	for _, s := range statements {
		data, err := json.Marshal(s)
		if err != nil {
			return nil, fmt.Errorf("encoding %s statement: %w", s.PredicateType, err)
		}
		l := static.NewLayer(data, MediaTypeInToto)
		d, _ := l.Digest()
		layers[d] = l
		m.Layers = append(m.Layers, v1.Descriptor{
			MediaType: MediaTypeInToto, Size: int64(len(data)), Digest: d,
			Annotations: map[string]string{AnnotationPredicateType: s.PredicateType},
		})
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, d)
	}
	rawCfg, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cd, size, err := v1.SHA256(bytes.NewReader(rawCfg))
	if err != nil {
		return nil, err
	}
	m.Config = v1.Descriptor{MediaType: types.OCIConfigJSON, Size: size, Digest: cd}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return rawimage.New(raw, rawCfg, layers)
}

// attConfig is the config of an attestation manifest, as BuildKit writes it.
type attConfig struct {
	Architecture string   `json:"architecture"`
	OS           string   `json:"os"`
	Config       struct{} `json:"config"`
	RootFS       struct {
		Type    string    `json:"type"`
		DiffIDs []v1.Hash `json:"diff_ids"`
	} `json:"rootfs"`
}

// Attached is one image of an index and the statements about it.
type Attached struct {
	Image      v1.Image
	Platform   v1.Platform
	Statements []Statement
}

// Index is the image index of images, each followed (after all the
// images, as BuildKit orders them) by its attestation manifest, which
// names the image's manifest digest.
func Index(images []Attached) (v1.ImageIndex, error) {
	var adds, atts []mutate.IndexAddendum
	for _, a := range images {
		p := a.Platform
		adds = append(adds, mutate.IndexAddendum{Add: a.Image, Descriptor: v1.Descriptor{Platform: &p}})
		if len(a.Statements) == 0 {
			continue
		}
		d, err := a.Image.Digest()
		if err != nil {
			return nil, err
		}
		m, err := Manifest(a.Statements)
		if err != nil {
			return nil, err
		}
		atts = append(atts, mutate.IndexAddendum{Add: m, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: unknownPlatformString, Architecture: unknownPlatformString},
			Annotations: map[string]string{
				AnnotationReferenceType:   ReferenceTypeAttestation,
				AnnotationReferenceDigest: d.String(),
			},
		}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), append(adds, atts...)...)
	if _, err := idx.Digest(); err != nil {
		return nil, fmt.Errorf("assembling image index: %w", err)
	}
	return idx, nil
}

// IsAttestation tells whether an index entry is an attestation manifest.
func IsAttestation(d v1.Descriptor) bool {
	return d.Annotations[AnnotationReferenceType] == ReferenceTypeAttestation
}
