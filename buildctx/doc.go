// Package buildctx makes ready what `lade build` takes as its context
// and as its named contexts (--build-context): a local directory, a tar
// (optionally compressed) or a Dockerfile on stdin, a git repository
// (cloned with the git binary, shallow when the server allows it), or
// an http(s) tarball. Every remote or streamed source is unpacked into
// a fresh directory under the caller's scratch dir, which Close
// removes; a local directory is used where it is.
//
// Named contexts (ParseNamed) are parsed here too: a directory, an
// image reference (docker-image://) or an OCI layout (oci-layout://);
// the solver decides what FROM and COPY --from make of them.
package buildctx
