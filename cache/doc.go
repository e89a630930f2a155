// Package cache is where a lade root keeps what builds produce: the
// content store and the build cache's key index. It holds
//
//   - Store (store.go, layer.go): blobs (layers, configs, manifests) by
//     sha256 digest under <root>/content/blobs/sha256/<hex>, and layer
//     compression (gzip via internal/blockgzip, zstd, none);
//   - Index (keys.go): cache key -> Result (the step's layer), one JSON
//     file per key under <root>/cache/keys, its mtime the last use;
//   - the GC lock (gclock.go) that every writer holds shared and the
//     collector (package gc) exclusively;
//   - the checks on descriptors read from outside (descriptor.go), and
//     Scratcher, how each store reports its temp entries to package gc.
//
// Lifecycle: Put (or WriteLayer, which compresses an uncompressed layer
// tar on the way in, or an Ingest, which a pull writes while it also
// unpacks the same bytes) writes into a uniquely named temp file under
// content/ingest while hashing, checks the expected digest and size,
// fsyncs, and renames the file into blobs/ in one atomic step, so readers
// and other processes only ever see complete, verified blobs. A process
// killed mid-ingest leaves only a temp file in ingest/, which is never
// read and which gc removes once stale. Open streams a blob back and
// re-verifies its digest and size as it is read, so corruption on disk is
// reported at EOF. Index records are written to a temp file and renamed
// the same way; a damaged record reads as a miss. Records and blobs go
// only through gc, under the GC lock. Exported caches (--cache-to) are
// package remotecache's.
package cache
