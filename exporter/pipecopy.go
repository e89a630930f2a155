package exporter

import (
	"errors"
	"io"
)

// pipeBufs and pipeBufSize size pipeCopy's ring: enough to keep both
// sides busy, little enough to stay in cache.
const (
	pipeBufs    = 4
	pipeBufSize = 1 << 20
)

// pipeCopy is io.CopyN with src read on a goroutine of its own while dst
// writes: reading a blob from the store hashes it, writing it is a kernel
// copy into the page cache, and the two then run on two CPUs at once
// instead of taking turns. It returns io.EOF when src has fewer than n
// bytes, as io.CopyN does, and only once the reading goroutine is done.
func pipeCopy(dst io.Writer, src io.Reader, n int64) (int64, error) {
	if n <= pipeBufSize {
		return io.CopyN(dst, src, n)
	}
	type chunk struct {
		b   []byte
		err error
	}
	free := make(chan []byte, pipeBufs)
	for range pipeBufs {
		free <- make([]byte, pipeBufSize)
	}
	full := make(chan chunk, pipeBufs)
	stop := make(chan struct{})
	go func() {
		defer close(full)
		for left := n; left > 0; {
			var b []byte
			select {
			case b = <-free:
			case <-stop:
				return
			}
			if int64(len(b)) > left {
				b = b[:left]
			}
			m, err := io.ReadFull(src, b)
			left -= int64(m)
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			full <- chunk{b[:m], err}
			if err != nil {
				return
			}
		}
	}()
	var written int64
	var err error
	for c := range full {
		if err == nil && len(c.b) > 0 {
			var m int
			m, err = dst.Write(c.b)
			written += int64(m)
			if err == nil && m < len(c.b) {
				err = io.ErrShortWrite
			}
		}
		if err == nil {
			err = c.err
		}
		if err != nil {
			// Stop the reader; keep draining so it never blocks on full.
			select {
			case <-stop:
			default:
				close(stop)
			}
		}
		free <- c.b[:cap(c.b)]
	}
	return written, err
}
