// Package remotecache moves lade's build cache between machines: Export
// writes the cache records of a build (--cache-to) as an OCI image to a
// registry or a local OCI layout, Import reads them back (--cache-from)
// into the local key index. ParseSpec reads the buildx-style option
// strings of both flags.
//
// Lifecycle: Import reads only each source's manifest and config and
// returns a Remote, which fetches a layer blob into the content store the
// first time a build (or a later Export) needs it, checked against its
// digest and size; a source that cannot be read costs only a cold build.
// Export packs the records' layers, already in the content store, plus
// the content of the build's cache mounts when asked (cache-mounts=true)
// and replaces any earlier cache at its destination. The format (format.go)
// is an ordinary image manifest whose config maps cache keys to layers.
package remotecache
