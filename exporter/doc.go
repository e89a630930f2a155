// Package exporter writes a built v1.Image as an archive: an OCI image
// layout as a tar stream, and a docker save style archive that `docker
// load` accepts.
//
// Archives are deterministic (fixed entry order, zeroed ownership and
// times, fixed modes), so the same image always yields the same bytes.
// Blobs are streamed, never buffered whole, and each is verified against
// its descriptor's size and digest while it is copied.
package exporter
