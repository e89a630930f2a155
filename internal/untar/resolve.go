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
	cur, err := walk(root, nil, rel, create)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, filepath.Join(cur...)), nil
}

// walk resolves rel from the real (symlink-free) directory cur below
// root, creating missing directories when create is set, and returns the
// real path of the result as components.
func walk(root string, cur []string, rel string, create bool) ([]string, error) {
	comps := splitPath(rel)
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
				return nil, &os.PathError{Op: "resolve", Path: path.Join(append(cur, c)...), Err: os.ErrNotExist}
			}
			if err := MkdirRoot(p); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, &os.PathError{Op: "lstat", Path: p, Err: err}
		case st.Mode&unix.S_IFMT == unix.S_IFLNK:
			links++
			if links > maxSymlinks {
				return nil, &os.PathError{Op: "resolve", Path: rel, Err: unix.ELOOP}
			}
			target, err := os.Readlink(p)
			if err != nil {
				return nil, err
			}
			if strings.HasPrefix(target, "/") {
				cur = nil
			}
			comps = append(splitPath(target), comps...)
			continue
		case st.Mode&unix.S_IFMT != unix.S_IFDIR:
			return nil, &os.PathError{Op: "resolve", Path: path.Join(append(cur, c)...), Err: unix.ENOTDIR}
		}
		cur = append(cur, c)
	}
	return cur, nil
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

// resolve is Resolve(x.root, name, true) with the resolution of parent
// directories kept: a layer names the same directories over and over,
// and each resolution is an lstat per path component. A directory not
// seen yet is resolved from its nearest remembered ancestor. The cache
// holds only real paths this extraction resolved or created; anything
// that removes a path (a replaced entry, a whiteout, an opaque marker)
// forgets it all, so a directory later swapped for a symlink is resolved
// afresh.
func (x *extractor) resolve(name string) (string, error) {
	dir := path.Dir(name)
	real, ok := x.parents[dir]
	if !ok {
		cur, rest := x.ancestor(dir)
		cur, err := walk(x.root, cur, rest, true)
		if err != nil {
			return "", fmt.Errorf("resolving parent: %w", err)
		}
		if len(x.parents) >= maxParents {
			x.forget()
		}
		real = path.Join(cur...)
		x.parents[dir] = real
	}
	return filepath.Join(x.root, real, path.Base(name)), nil
}

// ancestor returns the real path of dir's nearest remembered ancestor
// and what of dir is left to resolve from it.
func (x *extractor) ancestor(dir string) ([]string, string) {
	for a := path.Dir(dir); a != "."; a = path.Dir(a) {
		if real, ok := x.parents[a]; ok {
			if real == "" {
				return nil, dir[len(a)+1:]
			}
			return splitPath(real), dir[len(a)+1:]
		}
	}
	return nil, dir
}

// forget empties the resolved-parent cache.
func (x *extractor) forget() { clear(x.parents) }
