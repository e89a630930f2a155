package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// List returns the DiffIDs of all committed snapshots.
func (s *Snapshotter) List() ([]v1.Hash, error) {
	ents, err := os.ReadDir(filepath.Join(s.root, "layers"))
	if err != nil {
		return nil, fmt.Errorf("listing snapshots: %w", err)
	}
	var out []v1.Hash
	for _, e := range ents {
		h := v1.Hash{Algorithm: "sha256", Hex: e.Name()}
		if _, err := s.layerDir(h); err == nil && e.IsDir() {
			out = append(out, h)
		}
	}
	return out, nil
}

// DiskUsage returns the bytes the committed snapshot diffID (with its
// twins made by older versions) occupies on disk; hardlinks count once.
func (s *Snapshotter) DiskUsage(diffID v1.Hash) (int64, error) {
	dir, err := s.layerDir(diffID)
	if err != nil {
		return 0, err
	}
	return dirUsage(dir)
}

// dirUsage is the allocated size of the tree at dir, each inode once.
func dirUsage(dir string) (int64, error) {
	seen := map[uint64]bool{}
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil || seen[st.Ino] {
			return nil
		}
		seen[st.Ino] = true
		total += st.Blocks * 512
		return nil
	})
	return total, err
}

// Delete removes the committed snapshot diffID. It is first renamed out of
// layers/, so no reader ever sees a half-deleted snapshot. The caller makes
// sure nothing uses it (see gc.Collector).
func (s *Snapshotter) Delete(diffID v1.Hash) error {
	dir, err := s.layerDir(diffID)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "gc-")
	if err != nil {
		return fmt.Errorf("deleting snapshot %s: %w", diffID, err)
	}
	if err := os.Rename(dir, filepath.Join(tmp, "layer")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		os.Remove(tmp)
		return fmt.Errorf("deleting snapshot %s: %w", diffID, err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("deleting snapshot %s: %w", diffID, err)
	}
	return nil
}
