// Package atomicfile is lade's one way to create or replace a file: it
// appears whole or not at all, and its temporary file cannot outlive its
// writer. Every such file goes through it: exported archives and layout
// files, credentials, the image index, cache keys, the stat cache and
// container state. Each caller says how durable it must be (Options.Sync):
// the stores and credentials survive a power cut, caches and exports
// (which can be made again) skip the fsyncs.
//
// The content is written to an unnamed O_TMPFILE inode, which the kernel
// frees if the writer dies (SIGKILL included), and linked into place only
// once complete: straight at the path when nothing is there, else at a
// temporary name renamed over it. Only a death between that link and the
// rename, or on a filesystem without O_TMPFILE (the whole write then goes
// to a named temporary file), leaves a name behind: it carries the
// writer's pid, and the first Write into that directory by a later process
// removes it once its writer is gone.
//
// Not for the content store's blobs (package cache): their final name is
// their digest, known only once the content is written and hashed, and a
// blob already stored under that name is kept rather than replaced.
package atomicfile
