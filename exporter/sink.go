package exporter

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// epoch is the fixed mtime of every archive entry.
var epoch = time.Unix(0, 0)

// tarSink writes the layout's entries as a deterministic tar stream.
type tarSink struct {
	tw *tar.Writer
	// out is the stream when it is a file: blobs the store hands out as
	// files go into it by copy_file_range (see rawFile).
	out *os.File
}

func newTarSink(w io.Writer) *tarSink {
	s := &tarSink{tw: tar.NewWriter(w)}
	s.out, _ = w.(*os.File)
	return s
}

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
	rc, err := b.open()
	if err != nil {
		return fmt.Errorf("blob %s: opening: %w", b.digest, err)
	}
	// Close errors are moot once size and digest have been verified.
	defer rc.Close()
	if f := storedFile(rc, b); f != nil && s.out != nil {
		return s.rawFile(ctx, hdr, f, b)
	}
	if err := s.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing tar entry %s: %w", name, err)
	}
	return copyVerified(ctx, s.tw, b, rc)
}

// storedFile is the file of a blob the store vouches for (hashed as it
// was stored, unchanged since), nil for any other.
func storedFile(rc io.Reader, b blob) *os.File {
	sf, ok := rc.(interface{ StoredFile() *os.File })
	if !ok {
		return nil
	}
	v, ok := rc.(interface{ Verifies() (v1.Hash, int64) })
	if !ok {
		return nil
	}
	if d, size := v.Verifies(); d != b.digest || size != b.size {
		return nil
	}
	return sf.StoredFile()
}

// rawChunk bounds one copy_file_range round, so a cancel is seen.
const rawChunk = 64 << 20

// rawFile writes the entry hdr with f's content past the tar writer,
// straight into the output file: the kernel copies the blob from the
// store's file (copy_file_range; on one file system without reading it
// through user space, and by reflink where the file system shares
// extents), instead of a read and a write of every byte. The tar writer
// has nothing pending once flushed, so the stream stays one archive.
func (s *tarSink) rawFile(ctx context.Context, hdr *tar.Header, f *os.File, b blob) error {
	if err := s.tw.Flush(); err != nil {
		return fmt.Errorf("writing tar entry %s: %w", hdr.Name, err)
	}
	var head bytes.Buffer
	if err := tar.NewWriter(&head).WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing tar entry %s: %w", hdr.Name, err)
	}
	if _, err := s.out.Write(head.Bytes()); err != nil {
		return fmt.Errorf("writing tar entry %s: %w", hdr.Name, err)
	}
	for left := b.size; left > 0; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.CopyN(s.out, f, min(left, rawChunk))
		left -= n
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("blob %s: got %d bytes, descriptor says %d", b.digest, b.size-left, b.size)
		}
		if err != nil {
			return fmt.Errorf("blob %s: copying: %w", b.digest, err)
		}
	}
	var one [1]byte
	if m, _ := f.Read(one[:]); m > 0 {
		return fmt.Errorf("blob %s: content is longer than descriptor size %d", b.digest, b.size)
	}
	if pad := (blockSize - b.size%blockSize) % blockSize; pad > 0 {
		if _, err := s.out.Write(make([]byte, pad)); err != nil {
			return fmt.Errorf("writing tar entry %s: %w", hdr.Name, err)
		}
	}
	return nil
}

// blockSize is tar's: entries are padded to it.
const blockSize = 512

func (s *tarSink) close() error {
	if err := s.tw.Close(); err != nil {
		return fmt.Errorf("finishing tar: %w", err)
	}
	return nil
}
