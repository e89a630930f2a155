// Package dockercp copies files between a container's root filesystem and
// the host with docker cp's rules: a trailing "/." copies a directory's
// contents, an existing directory destination receives the source under
// its own name, a missing one is created as the copy, a trailing "/" on a
// destination demands a directory.
//
// A copy is one tar stream: snapshot.Archive writes the source, named
// as it lands below the destination, and internal/untar (lade's one
// extractor) writes it out. Paths in a container resolve inside its root
// (cyphar/filepath-securejoin for the source and destination, untar's
// resolution for every entry), so no symlink the container holds can
// lead a copy out of it. Reads are safe even against a running
// container's processes changing the tree meanwhile: the source's parent
// is opened with pathrs-lite and the walk below goes through opened
// directories; writes resolve each entry by path (internal/untar), which
// such a process could race. A path at or below one of the container's
// volumes or bind mounts is reached through the mount's host directory
// (Mount), resolved inside that. Entries copied into a container belong
// to its root unless Archive keeps their owners, as docker cp -a does.
//
// InContainer opens a container's files for a copy (mounting a stopped
// one's for the while), for `lade cp` and the API's archive endpoints
// alike; Stat is the API's stat of a path (not following a last symlink).
// ExtractTar takes a tar from stdin or a request's body, compressed or
// not (internal/decompress), as dockerd's archive endpoint does.
package dockercp
