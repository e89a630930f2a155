package untar

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

const maxSymlinks = 255

func cleanName(name string) (string, bool) {
	n := strings.TrimLeft(name, "/")
	if n == "" {
		return ".", true
	}
	c := path.Clean(n)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", false
	}
	return c, true
}

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
			if err := MkdirRoot(p); err != nil {
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

func MkdirRoot(p string) error {
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

func Resolve(root, name string, create bool) (string, error) {
	if name == "." {
		return root, nil
	}
	parent, err := resolveDir(root, path.Dir(name), create)
	if err != nil {
		return "", fmt.Errorf("resolving parent: %w", err)
	}
	return filepath.Join(parent, path.Base(name)), nil
}

// maxParents bounds the resolved-parent cache of one extraction.
const maxParents = 4096

// resolve is Resolve(x.root, name, true) with the parent's resolution
// kept: a layer names the same few directories over and over, and each
// resolution is an lstat per path component. The cache holds only paths
// this extraction resolved and created; anything that removes a path
// (a replaced entry, a whiteout, an opaque marker) forgets it all, so a
// directory later swapped for a symlink is resolved afresh.
func (x *extractor) resolve(name string) (string, error) {
	dir := path.Dir(name)
	parent, ok := x.parents[dir]
	if !ok {
		var err error
		if parent, err = resolveDir(x.root, dir, true); err != nil {
			return "", fmt.Errorf("resolving parent: %w", err)
		}
		if len(x.parents) >= maxParents {
			x.forget()
		}
		x.parents[dir] = parent
	}
	return filepath.Join(parent, path.Base(name)), nil
}

// forget empties the resolved-parent cache.
func (x *extractor) forget() { clear(x.parents) }
