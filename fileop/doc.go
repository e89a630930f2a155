// Package fileop implements the filesystem side of Dockerfile COPY and ADD:
// resolving sources (wildcards, --parents, --exclude, .dockerignore),
// copying them into a rootfs with BuildKit's destination rules, extracting
// local archives for ADD (decompressed by internal/decompress, extracted
// by internal/untar with BuildKit's ADD semantics and the layer size
// limit), fetching ADD URLs, and resolving user and group names against a
// rootfs.
//
// Every path inside a source root or the destination rootfs is resolved
// in-root, so symlinks can never make lade read or write outside them.
package fileop
