package cache

import "path/filepath"

// Scratcher is a store that writes through temp entries (an ingest file,
// an unpack dir) which only a process killed mid-write leaves behind.
// Garbage collection asks each store for its own.
type Scratcher interface {
	// Scratch lists the store's temp entries present now, in use or
	// not: GC removes those older than PruneOptions.StaleAge.
	Scratch() []string
}

// Scratch lists blobs being ingested.
func (s *Store) Scratch() []string { return glob(filepath.Join(s.ingest, "*")) }

// Scratch lists key records being written.
func (ix *Index) Scratch() []string { return glob(filepath.Join(ix.dir, ".key-*")) }

// glob expands the patterns, which are well-formed.
func glob(patterns ...string) []string {
	var out []string
	for _, p := range patterns {
		ms, _ := filepath.Glob(p)
		out = append(out, ms...)
	}
	return out
}
