package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds symlink resolution like the kernel's ELOOP limit.
const maxSymlinks = 255

// errEscapes is wrapped by cleanEntryName for names leaving the root.
var errEscapes = errors.New("path escapes the root")

// cleanEntryName turns a tar entry name (or hardlink target) into a clean
// relative path. Absolute names become relative; names whose ".." would
// leave the root are rejected. The root itself is returned as ".".
func cleanEntryName(name string) (string, error) {
	n := strings.TrimLeft(name, "/")
	if n == "" {
		return ".", nil
	}
	c := path.Clean(n)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", errEscapes
	}
	return c, nil
}

// resolveDir resolves the relative directory rel inside root with
// chroot-like semantics: symlinks (absolute or relative) are followed as if
// root were "/", and ".." never climbs above root. Every returned component
// was verified to be a real directory, so the result contains no symlinks.
// With create, missing components are created as 0755 root-owned dirs.
func resolveDir(root, rel string, create bool) (string, error) {
	comps := splitPath(rel)
	var cur []string
	links := 0
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) > 0 {
				cur = cur[:len(cur)-1]
			}
			continue
		}
		p := filepath.Join(root, filepath.Join(cur...), c)
		var st unix.Stat_t
		err := unix.Lstat(p, &st)
		switch {
		case errors.Is(err, unix.ENOENT):
			if !create {
				return "", &os.PathError{Op: "resolve", Path: path.Join(append(cur, c)...), Err: os.ErrNotExist}
			}
			if err := mkdirRoot(p); err != nil {
				return "", err
			}
		case err != nil:
			return "", &os.PathError{Op: "lstat", Path: p, Err: err}
		case st.Mode&unix.S_IFMT == unix.S_IFLNK:
			links++
			if links > maxSymlinks {
				return "", &os.PathError{Op: "resolve", Path: rel, Err: unix.ELOOP}
			}
			target, err := os.Readlink(p)
			if err != nil {
				return "", err
			}
			if strings.HasPrefix(target, "/") {
				cur = nil
			}
			comps = append(splitPath(target), comps...)
			continue
		case st.Mode&unix.S_IFMT != unix.S_IFDIR:
			return "", &os.PathError{Op: "resolve", Path: path.Join(append(cur, c)...), Err: unix.ENOTDIR}
		}
		cur = append(cur, c)
	}
	return filepath.Join(root, filepath.Join(cur...)), nil
}

func splitPath(p string) []string {
	return strings.Split(p, "/")
}

// mkdirRoot creates an implicit parent directory: 0755, owned by root.
func mkdirRoot(p string) error {
	if err := unix.Mkdir(p, 0o755); err != nil {
		return &os.PathError{Op: "mkdir", Path: p, Err: err}
	}
	if err := unix.Lchown(p, 0, 0); err != nil {
		return &os.PathError{Op: "lchown", Path: p, Err: err}
	}
	// Explicit chmod: the process umask must not leak into the layer.
	if err := unix.Chmod(p, 0o755); err != nil {
		return &os.PathError{Op: "chmod", Path: p, Err: err}
	}
	return nil
}

// resolveEntry returns the host path for the clean relative name inside
// root: its parent is resolved (and created if needed) in root, the final
// component is appended without being followed.
func resolveEntry(root, name string, create bool) (string, error) {
	if name == "." {
		return root, nil
	}
	parent, err := resolveDir(root, path.Dir(name), create)
	if err != nil {
		return "", fmt.Errorf("resolving parent: %w", err)
	}
	return filepath.Join(parent, path.Base(name)), nil
}
