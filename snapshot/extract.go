package snapshot

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/untar"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	opaqueMarker   = ".wh..wh..opq"
)

// extractMode selects how whiteouts are materialised.
type extractMode int

const (
	// modeOverlay keeps whiteouts as overlayfs lower-dir markers.
	modeOverlay extractMode = iota
	// modeApply deletes whiteouted paths from the target directory.
	modeApply
)

// Apply extracts an uncompressed OCI layer tar into dir as a plain
// filesystem: whiteouts delete the named paths and opaque markers remove the
// directory's pre-existing children.
func Apply(ctx context.Context, dir string, r io.Reader) error {
	return extract(ctx, dir, r, modeApply)
}

// layer is the layer-specific part of extraction: whiteouts, opaque
// markers, and the entry types an image may bring.
type layer struct {
	root  string
	mode  extractMode
	added map[string]bool // clean relative names written by this layer
	below map[string]bool // strict ancestors of added names
}

// extract reads a layer tar from r into root. It stops at the tar end
// marker; callers that hash the stream must drain r themselves.
func extract(ctx context.Context, root string, r io.Reader, mode extractMode) error {
	l := &layer{root: filepath.Clean(root), mode: mode, added: map[string]bool{}, below: map[string]bool{}}
	return untar.Extract(ctx, r, root, untar.Options{Kind: "layer", Dest: "root", Hook: l})
}

// Claim takes the whiteouts and opaque markers, and skips what a layer
// may not create.
func (l *layer) Claim(name string, hdr *tar.Header) (bool, error) {
	base := path.Base(name)
	switch {
	case base == opaqueMarker:
		return true, l.opaque(path.Dir(name))
	case strings.HasPrefix(base, whiteoutMeta):
		// Other AUFS metadata (.wh..wh.plnk etc.) carries nothing for us.
		return true, nil
	case strings.HasPrefix(base, whiteoutPrefix):
		target := strings.TrimPrefix(base, whiteoutPrefix)
		if target == "" || target == "." || target == ".." || strings.Contains(target, "/") {
			return true, fmt.Errorf("invalid whiteout name %q", base)
		}
		return true, l.whiteout(path.Join(path.Dir(name), target))
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeGNUSparse, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo:
		return false, nil
	}
	// Device nodes from images are never created on the host; other
	// types carry nothing for us.
	return true, nil
}

// Wrote records name and its ancestors, which an opaque marker keeps.
func (l *layer) Wrote(name string) {
	l.added[name] = true
	for d := path.Dir(name); d != "." && !l.below[d]; d = path.Dir(d) {
		l.below[d] = true
	}
}

// whiteout deletes name (apply) or replaces it with an overlay whiteout.
func (l *layer) whiteout(name string) error {
	p, err := untar.Resolve(l.root, name, l.mode == modeOverlay)
	if l.mode == modeApply {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
			return nil // nothing to delete
		}
		if err != nil {
			return err
		}
		return os.RemoveAll(p)
	}
	if err != nil {
		return err
	}
	if err := os.RemoveAll(p); err != nil {
		return err
	}
	return mkWhiteout(p)
}

// opaque marks dir so lower layers' content below it is hidden.
func (l *layer) opaque(dir string) error {
	p, err := untar.Resolve(l.root, dir, true)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); errors.Is(err, unix.ENOENT) {
		if err := untar.MkdirRoot(p); err != nil {
			return err
		}
	} else if err != nil {
		return err
	} else if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("opaque marker parent %q is not a directory", dir)
	}
	if l.mode == modeOverlay {
		if err := unix.Lsetxattr(p, opaqueXattr(), []byte("y"), 0); err != nil {
			return fmt.Errorf("marking %s opaque: %w", p, err)
		}
		return nil
	}
	return l.removeOld(p, dir)
}

// removeOld deletes everything under dir (host path p) that this layer did
// not write, keeping the paths to this layer's entries.
func (l *layer) removeOld(p, dir string) error {
	ents, err := os.ReadDir(p)
	if err != nil {
		return err
	}
	for _, e := range ents {
		rel := path.Join(dir, e.Name())
		cp := filepath.Join(p, e.Name())
		if l.added[rel] || l.below[rel] {
			if e.Type()&os.ModeType == os.ModeDir {
				if err := l.removeOld(cp, rel); err != nil {
					return err
				}
			}
			continue
		}
		if err := os.RemoveAll(cp); err != nil {
			return err
		}
	}
	return nil
}
