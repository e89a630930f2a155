// Package attest makes a build's attestations in BuildKit's layout:
// SLSA provenance (v1 by default, v0.2 on request) and an SPDX 2.3 SBOM,
// each an in-toto statement about an image manifest digest.
//
// Layout: Index puts, after the platforms' images, one attestation
// manifest per image: an OCI image for platform unknown/unknown whose
// index entry carries vnd.docker.reference.type=attestation-manifest and
// vnd.docker.reference.digest=<the image's manifest digest>, and whose
// every layer is one statement (media type application/vnd.in-toto+json,
// annotated in-toto.io/predicate-type). buildx imagetools, cosign and
// policy engines read it there.
//
// Lifecycle of a build's attestations: a Recorder wraps the solver's
// base image resolver and notes every base image with the manifest
// digest it resolved to; after the build, Request.Statements makes the
// provenance from a Build (the request, the bases, the context's digest
// and git checkout) and scans the image's flattened filesystem in one
// pass (Scanner) for the SBOM; Index assembles what the exporters write.
//
// The scanner is lade's own, not anchore/syft: on the same machine and
// images (bench/README.md, "attest.sh") syft as a library added 90 MB to
// lade's 27 MB binary and took 11-17 s on debian:bookworm where this
// scanner takes 0.2-4 s for the same 88 packages; syft covers more
// (licenses from copyright files, RPM, Java, binaries by signature). This
// one reads dpkg's status (and status.d), apk's installed db, Go build
// info of ELF executables, npm's package.json and package-lock.json and
// Python's dist-info/egg-info metadata; RPM databases are noted, not read
// (BerkeleyDB or SQLite would need a database reader).
package attest
