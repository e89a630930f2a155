// Package cache is lade's content store: blobs (layers, configs, manifests)
// kept by sha256 digest under root/blobs/sha256/<hex>.
//
// Lifecycle: Put (or WriteLayer, which compresses an uncompressed layer tar
// on the way in) writes into a uniquely named temp file under root/ingest
// while hashing, checks the expected digest and size, fsyncs, and renames
// the file into blobs/ in one atomic step, so readers and other processes
// only ever see complete, verified blobs. A process killed mid-ingest leaves
// only a temp file in ingest/, which is never read. Open streams a blob back
// and re-verifies its digest and size as it is read, so corruption on disk
// is reported at EOF. Layer wraps a stored layer blob as a v1.Layer.
//
// WriteLayer gzips layers of a block or more with blockGzip, in parallel
// 1 MiB blocks, Huffman-coding only or storing the blocks that a sample
// shows deflate's match search would not shrink.
package cache
