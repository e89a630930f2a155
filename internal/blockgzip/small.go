package blockgzip

import (
	"io"
	"sync"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
)

var gzipPool sync.Pool

// NewSmall returns a single-threaded gzip writer with the same header
// fields as Writer (no name, mtime 0), taken from a pool and returned to
// it by Close.
func NewSmall(w io.Writer) io.WriteCloser {
	zw, _ := gzipPool.Get().(*kgzip.Writer)
	if zw == nil {
		zw, _ = kgzip.NewWriterLevel(w, kgzip.DefaultCompression)
	} else {
		zw.Reset(w)
	}
	zw.ModTime, zw.Name, zw.Comment, zw.OS = time.Unix(0, 0), "", "", 255
	return pooledGzip{zw}
}

type pooledGzip struct{ *kgzip.Writer }

func (p pooledGzip) Close() error {
	err := p.Writer.Close()
	gzipPool.Put(p.Writer)
	return err
}
