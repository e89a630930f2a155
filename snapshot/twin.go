package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// A layer can occur twice in one chain: two steps that wrote identical
// diffs (two empty RUNs, or a file set back to an earlier content) have the
// same DiffID. Overlayfs refuses the same lower dir twice, so the n-th
// repeat uses a twin: the same tree with new directories and hardlinked
// entries, made once and kept beside the layer.
func (s *Snapshotter) twin(diffID v1.Hash, n int) (string, error) {
	src := s.Path(diffID)
	if src == "" {
		return "", fmt.Errorf("invalid layer digest %s", diffID)
	}
	dst := filepath.Join(filepath.Dir(src), "twin"+strconv.Itoa(n))
	if _, err := os.Lstat(dst); err == nil {
		return dst, nil
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "twin-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "fs")
	if err := linkTree(src, out); err != nil {
		return "", fmt.Errorf("making twin of layer %s: %w", diffID, err)
	}
	if err := os.Rename(out, dst); err != nil && !errors.Is(err, fs.ErrExist) && !errors.Is(err, unix.ENOTEMPTY) {
		return "", fmt.Errorf("making twin of layer %s: %w", diffID, err)
	}
	return dst, nil
}

// linkTree recreates src's directories at dst (mode, owner, xattrs such as
// the overlay opaque marker) and hardlinks everything else.
func linkTree(src, dst string) error {
	var dirs []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if !d.IsDir() {
			return os.Link(p, target)
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		if err := os.Mkdir(target, 0o700); err != nil {
			return err
		}
		if err := os.Lchown(target, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
		if err := copyXattrs(p, target); err != nil {
			return err
		}
		if err := unix.Chmod(target, st.Mode&0o7777); err != nil {
			return err
		}
		dirs = append(dirs, p)
		return nil
	})
	if err != nil {
		return err
	}
	// Directory times last, after their entries were linked in.
	for i := len(dirs) - 1; i >= 0; i-- {
		var st unix.Stat_t
		if err := unix.Lstat(dirs[i], &st); err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, dirs[i])
		ts := []unix.Timespec{st.Atim, st.Mtim}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(dst, rel), ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	return nil
}

func copyXattrs(src, dst string) error {
	sz, err := unix.Llistxattr(src, nil)
	if err != nil || sz <= 0 {
		return nil // no xattr support or none set
	}
	buf := make([]byte, sz)
	sz, err = unix.Llistxattr(src, buf)
	if err != nil {
		return nil
	}
	for _, name := range splitNul(buf[:sz]) {
		vsz, err := unix.Lgetxattr(src, name, nil)
		if err != nil {
			continue
		}
		val := make([]byte, vsz)
		if vsz, err = unix.Lgetxattr(src, name, val); err != nil {
			continue
		}
		if err := unix.Lsetxattr(dst, name, val[:vsz], 0); err != nil {
			return fmt.Errorf("copying xattr %s: %w", name, err)
		}
	}
	return nil
}

func splitNul(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}
