// Package fileop implements the filesystem side of Dockerfile COPY and ADD:
// resolving sources (wildcards, --parents, --exclude, .dockerignore),
// copying them into a rootfs with BuildKit's destination rules (--chown,
// --chmod), extracting local archives for ADD (decompressed by
// internal/decompress, extracted by internal/untar with BuildKit's ADD
// semantics and the layer size limit), fetching ADD URLs, checksumming
// sources for cache keys, and resolving user and group names against a
// rootfs.
//
// Every path inside a source root or the destination rootfs is resolved
// in-root, so symlinks can never make lade read or write outside them.
//
// Lifecycle: FetchURL downloads into a fresh directory under the caller's
// temp dir, which the caller removes after CopyFetched. A StatCache
// (StatCaches.Open, one record per context) lives for one build: it
// remembers file digests by stat identity and Save writes it back
// atomically (atomicfile, no fsync: a lost record only costs re-hashing),
// without the entries of files gone or changed. A Limit bounds the bytes one ADD may
// write.
package fileop
