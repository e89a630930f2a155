// Package gc measures and prunes what a lade root holds beyond what its
// images and containers use: the build cache's records (cache.Index),
// the blobs and snapshots only they reference, orphans, RUN cache mounts
// and the temp entries of killed processes, which each store lists
// (cache.Scratcher).
//
// Lifecycle: a Collector is made per command. Usage only reads. Prune runs
// under the root's GC lock held exclusively (cache.Store.LockGC), so no
// build or image write is in flight and whatever no root and no kept
// record references is garbage; it removes, in order, stale scratch,
// orphans, records (least recently used first) and then the blobs and
// snapshots only those records held, each removal atomic on its own, so
// an interrupted prune leaves a consistent, smaller root. OrphansOnly
// stops after the orphans: what image prune frees, records kept.
package gc
