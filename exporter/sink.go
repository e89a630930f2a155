package exporter

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"time"
)

// epoch is the fixed mtime of every archive entry.
var epoch = time.Unix(0, 0)

// tarSink writes the layout's entries as a deterministic tar stream.
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
