package attest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/github/go-spdx/v2/spdxexp"
	"github.com/package-url/packageurl-go"
)

// The SPDX 2.3 JSON document, with the fields lade fills.
type spdxDocument struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      spdxCreationInfo   `json:"creationInfo"`
	Packages          []spdxPackage      `json:"packages"`
	Relationships     []spdxRelationship `json:"relationships"`
}

type spdxCreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	Name             string       `json:"name"`
	SPDXID           string       `json:"SPDXID"`
	VersionInfo      string       `json:"versionInfo,omitempty"`
	Supplier         string       `json:"supplier"`
	DownloadLocation string       `json:"downloadLocation"`
	FilesAnalyzed    bool         `json:"filesAnalyzed"`
	SourceInfo       string       `json:"sourceInfo,omitempty"`
	LicenseConcluded string       `json:"licenseConcluded"`
	LicenseDeclared  string       `json:"licenseDeclared"`
	CopyrightText    string       `json:"copyrightText"`
	ExternalRefs     []spdxExtRef `json:"externalRefs,omitempty"`
	PrimaryPurpose   string       `json:"primaryPackagePurpose,omitempty"`
}

type spdxExtRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type spdxRelationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

const noAssertion = "NOASSERTION"

// SBOM is the SPDX statement listing the packages s found: the document
// describes the image (name, manifest digest) and contains each package,
// with its package URL. created is the build's time (SOURCE_DATE_EPOCH
// when set), so an SBOM is as reproducible as its image.
func SBOM(s *Scanner, image string, subjects []Subject, created time.Time) Statement {
	doc := spdxDocument{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT",
		Name: image,
		CreationInfo: spdxCreationInfo{
			Created:  created.UTC().Format(time.RFC3339),
			Creators: []string{"Tool: lade"},
		},
		Packages: []spdxPackage{}, Relationships: []spdxRelationship{},
	}
	root := spdxPackage{
		Name: image, SPDXID: "SPDXRef-Image", Supplier: noAssertion, DownloadLocation: noAssertion,
		LicenseConcluded: noAssertion, LicenseDeclared: noAssertion, CopyrightText: noAssertion,
		PrimaryPurpose: "CONTAINER",
	}
	doc.Packages = append(doc.Packages, root)
	doc.Relationships = append(doc.Relationships, spdxRelationship{"SPDXRef-DOCUMENT", "DESCRIBES", root.SPDXID})
	distro, distroVersion := s.Distro()
	h := sha256.New()
	for i, p := range s.Packages() {
		sp := spdxPackage{
			Name: p.Name, SPDXID: fmt.Sprintf("SPDXRef-Package-%s-%d", p.Type, i), VersionInfo: p.Version,
			Supplier: noAssertion, DownloadLocation: noAssertion, LicenseConcluded: noAssertion,
			LicenseDeclared: spdxLicense(p.License), CopyrightText: noAssertion,
			SourceInfo: "acquired package info from " + p.Source,
		}
		if u := packagePURL(p, distro, distroVersion); u != "" {
			sp.ExternalRefs = []spdxExtRef{{"PACKAGE-MANAGER", "purl", u}}
		}
		doc.Packages = append(doc.Packages, sp)
		doc.Relationships = append(doc.Relationships, spdxRelationship{root.SPDXID, "CONTAINS", sp.SPDXID})
		fmt.Fprintf(h, "%s %s %s %s\n", p.Type, p.Name, p.Version, p.Source)
	}
	// The namespace must be unique per document: the image and what it holds.
	for _, sub := range subjects {
		fmt.Fprintf(h, "%s %v\n", sub.Name, sub.Digest)
	}
	doc.DocumentNamespace = "https://github.com/lade-build/lade/sbom/" + hex.EncodeToString(h.Sum(nil))[:32]
	return Statement{Type: StatementType, PredicateType: PredicateSPDX, Subject: subjects, Predicate: doc}
}

// spdxLicense is the package's license if it is a valid SPDX expression
// (go-spdx), NOASSERTION otherwise: dpkg records none, and many npm and
// Python packages write free text.
func spdxLicense(l string) string {
	l = strings.TrimSpace(l)
	if l == "" {
		return noAssertion
	}
	if ok, _ := spdxexp.ValidateLicenses([]string{l}); ok {
		return l
	}
	return noAssertion
}

// packagePURL is p's package URL, with the distro for OS packages as
// syft writes them (pkg:deb/debian/bash@5.2?arch=amd64&distro=debian-12).
func packagePURL(p Package, distro, distroVersion string) string {
	var ns string
	var qs packageurl.Qualifiers
	name := p.Name
	switch p.Type {
	case "deb", "apk":
		ns = distro
		if ns == "" {
			ns = map[string]string{"deb": "debian", "apk": "alpine"}[p.Type]
		}
		if p.Arch != "" {
			qs = append(qs, packageurl.Qualifier{Key: "arch", Value: p.Arch})
		}
		if distro != "" {
			qs = append(qs, packageurl.Qualifier{Key: "distro", Value: strings.TrimSuffix(distro+"-"+distroVersion, "-")})
		}
	case "golang", "npm":
		if i := strings.LastIndex(name, "/"); i >= 0 {
			ns, name = name[:i], name[i+1:]
		}
	case "pypi":
		name = strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	default:
		return ""
	}
	return packageurl.NewPackageURL(p.Type, ns, name, p.Version, qs, "").ToString()
}
