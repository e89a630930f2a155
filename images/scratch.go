package images

import "path/filepath"

// Scratch lists index files being written (replaceFile's "index-*.tmp"
// names): only a writer killed before its rename leaves one behind.
func (s *Store) Scratch() []string {
	ms, _ := filepath.Glob(filepath.Join(s.root, "index-*.tmp"))
	return ms
}
