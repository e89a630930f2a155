package fileop

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/decompress"
	"github.com/lade-build/lade/internal/untar"
)

// isArchive reports whether the regular file p is a (possibly compressed)
// tar stream, decided like BuildKit: the first header must parse.
func isArchive(ctx context.Context, p string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	rc, err := decompress.Reader(ctx, f)
	if err != nil {
		return false, nil
	}
	defer rc.Close()
	_, err = tar.NewReader(rc).Next()
	return err == nil, nil
}

// maybeExtract handles ADD of a local archive: it is unpacked into dest (as
// a directory) and true is returned; non-archives return false.
func (c *copier) maybeExtract(m srcMatch, dest string) (bool, error) {
	st, err := lstat(m.real)
	if err != nil {
		return false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false, nil
	}
	ok, err := isArchive(c.ctx, m.real)
	if err != nil || !ok {
		return false, err
	}
	dir, err := c.mkdirAll(path.Clean(dest))
	if err != nil {
		return false, err
	}
	f, err := os.Open(m.real)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := extractTar(c.ctx, f, dir, c.opts.Chown, c.opts.Limit); err != nil {
		if errors.Is(err, ErrLimit) {
			return false, err // the caller names the source
		}
		return false, fmt.Errorf("extract %s: %w", m.name, err)
	}
	return true, nil
}

// tarBlock is the size of a tar header: what an entry costs at least in
// the layer tar.
const tarBlock = 512

// extractTar unpacks r into dir as if dir were "/" (BuildKit chroots there):
// absolute symlinks resolve inside dir, entries escaping dir are an error,
// and hardlinks may only point inside dir. Like BuildKit's ADD it creates
// device nodes and sets every xattr it can. Each entry is charged to limit
// before anything of it is written.
func extractTar(ctx context.Context, r io.Reader, dir string, chown *Owner, limit *Limit) error {
	rc, err := decompress.Reader(ctx, r)
	if err != nil {
		return err
	}
	defer rc.Close()
	opts := untar.Options{
		Kind: "tar", Dest: "destination",
		SkipRoot: true, AllXattrs: true,
		Charge: func(hdr *tar.Header) error { return limit.charge(tarBlock + hdr.Size) },
	}
	if chown != nil {
		opts.Owner = &untar.Owner{UID: chown.UID, GID: chown.GID}
	}
	return untar.Extract(ctx, rc, dir, opts)
}
