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
// policy engines read it there. For -o type=local and type=tar, Files
// makes BuildKit's provenance.json and sbom.spdx.json instead: the same
// statements about the exported files (FileSubjects).
//
// Lifecycle of a build's attestations: a Recorder wraps the solver's
// base image resolver and notes every base image with the manifest
// digest it resolved to; after the build, Request.Statements makes the
// provenance from a Build (the request, the bases, the context's digest
// and git checkout) and scans the image's flattened filesystem in one
// pass (Scanner) for the SBOM; Index assembles what the exporters write.
//
// The scanner is lade's own, not anchore/syft v1.57.2, by measurement
// (bench/README.md, "attest.sh", 2 CPUs shared with other builds):
// linking syft (GetSource, CreateSBOM, its SPDX encoder) made lade's
// binary 99.2 MB instead of 27.6 MB (this package adds 0.9 MB to 26.7
// MB); on debian:bookworm's OCI layout syft took 5.8-6.0 s where this
// scanner takes 0.9-2.0 s (load 6; 9-18 s against 1.8-4.5 s at load
// 15), both finding the same 88 dpkg packages, and on
// busybox 2.3-12.5 s against 0.02-0.5 s. syft covers more (licenses from
// Debian copyright files, RPM, Java, binaries recognised by signature:
// busybox itself). This one reads dpkg's status (and status.d), apk's
// installed db, the Go build info of ELF executables, npm's package.json
// and package-lock.json, and Python's dist-info/egg-info metadata; RPM
// databases are noted, not read (BerkeleyDB or SQLite need a database
// reader, which is what makes syft's rpm support heavy).
package attest
