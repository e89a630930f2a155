package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/internal/du"
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
	return du.Size(dir)
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
