package exporter

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// sink receives the layout's entries; the same sequence of calls goes to a
// tar stream or to a directory.
type sink interface {
	dir(name string) error
	file(ctx context.Context, b blob, name string) error
	close() error
}

// epoch is the fixed mtime of every archive entry.
var epoch = time.Unix(0, 0)

type tarSink struct{ tw *tar.Writer }

func newTarSink(w io.Writer) *tarSink { return &tarSink{tw: tar.NewWriter(w)} }

func (s *tarSink) dir(name string) error {
	err := s.tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeDir,
		Name:     name + "/",
		Mode:     0o755,
		ModTime:  epoch,
		Format:   tar.FormatUSTAR,
	})
	if err != nil {
		return fmt.Errorf("writing tar entry %s: %w", name, err)
	}
	return nil
}

func (s *tarSink) file(ctx context.Context, b blob, name string) error {
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     b.size,
		Mode:     0o644,
		ModTime:  epoch,
	}
	// USTAR keeps headers free of PAX records; sizes past its 8 GiB limit
	// fall back to PAX, which is still deterministic.
	if b.size < 1<<33 {
		hdr.Format = tar.FormatUSTAR
	}
	if err := s.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing tar entry %s: %w", name, err)
	}
	return copyVerified(ctx, s.tw, b)
}

func (s *tarSink) close() error {
	if err := s.tw.Close(); err != nil {
		return fmt.Errorf("finishing tar: %w", err)
	}
	return nil
}

type dirSink struct{ root string }

func (s *dirSink) dir(name string) error {
	if err := os.MkdirAll(filepath.Join(s.root, filepath.FromSlash(name)), 0o755); err != nil {
		return fmt.Errorf("creating directory: %w", err)
	}
	return nil
}

// file writes to a temporary name and renames it into place only once the
// content has been verified, so a failed export never leaves a bad blob.
func (s *dirSink) file(ctx context.Context, b blob, name string) (err error) {
	dst := filepath.Join(s.root, filepath.FromSlash(name))
	f, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+filepath.Base(dst)+"-")
	if err != nil {
		return fmt.Errorf("creating %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := copyVerified(ctx, f, b); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("setting mode of %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return fmt.Errorf("renaming %s into place: %w", name, err)
	}
	return nil
}

func (s *dirSink) close() error { return nil }
