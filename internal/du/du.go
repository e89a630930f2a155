// Package du measures what a file or tree takes on disk, as du(1) does:
// allocated blocks, each inode (hard links) once. It keeps no state.
package du

import (
	"errors"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Size is the allocated size of a file or tree, each inode once.
func Size(p string) (int64, error) {
	seen := map[uint64]bool{}
	var total int64
	err := filepath.WalkDir(p, func(q string, _ fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		var st unix.Stat_t
		if unix.Lstat(q, &st) != nil || seen[st.Ino] {
			return nil
		}
		seen[st.Ino] = true
		total += st.Blocks * 512
		return nil
	})
	return total, err
}
