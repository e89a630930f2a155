package dockercp

import (
	"errors"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// Mount is one of a container's volumes or bind mounts: what the
// container sees at Target is Source on the host.
type Mount struct {
	Target, Source string
	ReadOnly       bool
}

// locate returns the tree container path p lives in (the container's
// root or, at or below a mount's target, the mount's source) and p's
// clean path in that tree. Symlinks in p's directories (and p itself
// with follow) are resolved in the container's root first, so a link
// into a volume leads into it.
func (e Endpoint) locate(p string, follow bool) (root, clean string, m *Mount) {
	clean = path.Clean("/" + p)
	full := clean
	if clean != "/" && len(e.Mounts) > 0 {
		dir, base := path.Dir(clean), path.Base(clean)
		if follow {
			dir, base = clean, ""
		}
		if host, err := securejoin.SecureJoin(e.Root, dir); err == nil {
			if rel, err := filepath.Rel(e.Root, host); err == nil {
				full = path.Join("/", rel, base)
			}
		}
	}
	target := ""
	for i := range e.Mounts {
		t := path.Clean("/" + e.Mounts[i].Target)
		if (full == t || strings.HasPrefix(full, t+"/")) && len(t) > len(target) {
			m, target = &e.Mounts[i], t
		}
	}
	if m == nil {
		return e.Root, clean, nil
	}
	return m.Source, path.Clean("/" + strings.TrimPrefix(full, target)), m
}

// writable refuses a copy to p in a read-only container or mount, with
// docker's words; a writable volume of a read-only container takes it.
func (e Endpoint) writable() error {
	if !e.inContainer() {
		return nil
	}
	switch _, _, m := e.locate(e.Path, false); {
	case m != nil && m.ReadOnly:
		return errors.New("mounted volume is marked read-only")
	case m == nil && e.ReadOnly:
		return errors.New("container rootfs is marked read-only")
	}
	return nil
}
