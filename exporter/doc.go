// Package exporter writes built images to their destinations: an OCI
// image layout as a tar stream (WriteOCI; WriteOCIIndex for a
// multi-platform image, its index a blob that index.json names), and a
// docker save style archive that `docker load` accepts, for one image or
// several (WriteDocker, WriteDockerMulti). The local and tar outputs
// write an image's filesystem instead, its layers flattened (files.go:
// WriteLocal into a directory, WriteFilesTar as one plain tar; a
// multi-platform build's images each under their platform's directory;
// Files.Extra, the attestations, is written after an image's files).
//
// Lifecycle of an export: everything about the image (manifest, config,
// layer descriptors) is gathered and checked first, so a broken image
// fails before a byte is written; then the directories, every blob, and
// the metadata files (oci-layout, index.json, manifest.json) last, so an
// export cut short cannot pass for a whole one. Archives are
// deterministic (fixed entry order, zeroed ownership and times, fixed
// modes): the same image always yields the same bytes. Blobs are
// streamed, never buffered whole, and each is verified against its
// descriptor's size and digest while it is copied; one the content store
// vouches for (hashed as it was stored) is copied into an archive that
// is a file by the kernel (copy_file_range, sink.go), its size checked. A layout directory's
// files appear only once verified (atomicfile, without fsync: an export
// can be made again); the caller owns the tar stream's destination.
package exporter
