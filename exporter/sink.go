package exporter

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/lade-build/lade/internal/atomicfile"
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

// file appears only once its content has been verified (atomicfile), so
// a failed or killed export never leaves a bad blob or a temporary file.
func (s *dirSink) file(ctx context.Context, b blob, name string) error {
	dst := filepath.Join(s.root, filepath.FromSlash(name))
	err := atomicfile.Write(dst, atomicfile.Options{Perm: 0o644}, func(w io.Writer) error {
		return copyVerified(ctx, w, b)
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

func (s *dirSink) close() error { return nil }
