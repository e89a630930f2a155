package fileop

import (
	"bytes"
	"io"
	"os"
)

// holeBlock is the granularity at which runs of zeros become holes: the
// page and block size of the usual file systems.
const holeBlock = 4096

var zeroBlock [holeBlock]byte

// writeSparse copies r into the new, empty file f, seeking over every
// all-zero block instead of writing it, so the holes of a sparse tar entry
// (which the tar reader returns as zeros) stay holes on disk. The file gets
// its full length even when it ends in a hole.
func writeSparse(f *os.File, r io.Reader) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var off int64
	for {
		n, err := fill(r, buf)
		if n > 0 {
			if werr := writeNonZero(f, buf[:n], off); werr != nil {
				return off, werr
			}
			off += int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return off, err
		}
	}
	// A trailing hole was never written: set the length explicitly.
	if err := f.Truncate(off); err != nil {
		return off, err
	}
	return off, nil
}

// fill reads until b is full or r fails, so that blocks stay aligned to
// the file offset; unlike io.ReadFull it passes a short stream's error on.
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// writeNonZero writes the runs of b that are not whole zero blocks at off.
func writeNonZero(f *os.File, b []byte, off int64) error {
	start := -1 // start of the pending run of data
	for i := 0; i < len(b); i += holeBlock {
		end := min(i+holeBlock, len(b))
		if bytes.Equal(b[i:end], zeroBlock[:end-i]) {
			if start >= 0 {
				if _, err := f.WriteAt(b[start:i], off+int64(start)); err != nil {
					return err
				}
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		if _, err := f.WriteAt(b[start:], off+int64(start)); err != nil {
			return err
		}
	}
	return nil
}
