// Package holes writes file content from a stream so that runs of zeros
// become holes on disk: the holes of a sparse tar entry, which Go's tar
// reader returns as zeros, stay holes whether an ADD or a layer unpack
// writes them.
package holes

import (
	"bytes"
	"io"
	"sync"
)

// Block is the granularity at which runs of zeros become holes: the page
// and block size of the usual file systems.
const Block = 4096

var zeroBlock [Block]byte

// bufPool holds the copy buffers; a multiple of Block keeps every full
// read aligned to the file offset.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

// File is what Write writes to: an *os.File, or a bare descriptor's
// wrapper where os.NewFile's extra system call would cost per file.
type File interface {
	io.WriterAt
	Truncate(size int64) error
}

// Write copies r into the new, empty file f, seeking over every all-zero
// block instead of writing it. A file that ends in a hole still gets its
// full length. It returns the bytes read from r.
func Write(f File, r io.Reader) (int64, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var off, end int64 // bytes read; end of the last write
	for {
		n, err := fill(r, buf)
		if n > 0 {
			e, werr := writeData(f, buf[:n], off)
			if werr != nil {
				return off, werr
			}
			if e > 0 {
				end = e
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
	if end < off {
		// A trailing hole was never written: set the length explicitly.
		if err := f.Truncate(off); err != nil {
			return off, err
		}
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

// writeData writes the runs of b that are not whole zero blocks at off and
// returns the file offset after the last byte written (0 if none was).
func writeData(f File, b []byte, off int64) (int64, error) {
	var end int64
	start := -1 // start of the pending run of data
	flush := func(stop int) error {
		if start < 0 {
			return nil
		}
		if _, err := f.WriteAt(b[start:stop], off+int64(start)); err != nil {
			return err
		}
		end, start = off+int64(stop), -1
		return nil
	}
	for i := 0; i < len(b); i += Block {
		stop := min(i+Block, len(b))
		if bytes.Equal(b[i:stop], zeroBlock[:stop-i]) {
			if err := flush(i); err != nil {
				return 0, err
			}
		} else if start < 0 {
			start = i
		}
	}
	return end, flush(len(b))
}
