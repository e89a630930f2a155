package fileop

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// checkPrefix returns the path before the first wildcard of the pattern
// clean, and fails as BuildKit does when it is missing or ignored: BuildKit
// walks it and reports "lstat /nodir: no such file or directory". Misses
// below it only match nothing.
func (c *copier) checkPrefix(clean string) (string, error) {
	var lit []string
	for _, comp := range strings.Split(strings.TrimPrefix(clean, "/"), "/") {
		if hasWildcard(comp) {
			break
		}
		lit = append(lit, comp)
	}
	prefix := "/" + path.Join(lit...)
	if prefix == "/" {
		return prefix, nil
	}
	real, err := securejoin.SecureJoin(c.srcRoot, prefix)
	if err != nil {
		return "", err
	}
	fi, err := os.Lstat(real)
	if err == nil {
		var vis bool
		if vis, err = c.visible(real, fi.IsDir()); err != nil {
			return "", err
		} else if !vis {
			err = unix.ENOENT
		}
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", &os.PathError{Op: "lstat", Path: prefix, Err: err}
	}
	return prefix, nil
}

// sent reports whether BuildKit would have the context directory dir when
// a wildcard in it matched nothing: its context transfer sends only what
// the build's paths (Src.Sent) match, with the directories above them,
// and all of a directory they name. So dir is there when one of them
// matches dir, something below it or a directory above it.
func (c *copier) sent(dir string) bool {
	if c.opts.Src.Sent == nil {
		return true
	}
	for _, p := range c.opts.Src.Sent {
		ms, err := c.glob(path.Clean("/" + filepath.ToSlash(p)))
		if err != nil {
			continue
		}
		for _, m := range ms {
			if m.name == "/" || m.name == dir || strings.HasPrefix(m.name, dir+"/") || strings.HasPrefix(dir, m.name+"/") {
				return true
			}
		}
	}
	return false
}
