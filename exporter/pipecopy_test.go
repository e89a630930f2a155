package exporter

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"testing"
)

type failWriter struct {
	after int // bytes accepted before failing
	n     int
}

var errWrite = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.after {
		m := w.after - w.n
		w.n = w.after
		return m, errWrite
	}
	w.n += len(p)
	return len(p), nil
}

type failReader struct {
	r   io.Reader
	err error
}

func (f *failReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestPipeCopy(t *testing.T) {
	data := make([]byte, 5*pipeBufSize+12345)
	rand.New(rand.NewSource(1)).Read(data)
	errRead := errors.New("i/o error")
	tests := []struct {
		name    string
		src     io.Reader
		dst     func() io.Writer
		n       int64
		want    int64
		wantErr error
	}{
		{name: "exact", src: bytes.NewReader(data), n: int64(len(data)), want: int64(len(data))},
		{name: "small", src: bytes.NewReader(data), n: 100, want: 100},
		{name: "longer source stops at n", src: bytes.NewReader(data), n: 3*pipeBufSize + 7, want: 3*pipeBufSize + 7},
		{name: "short source", src: bytes.NewReader(data), n: int64(len(data)) + 1, want: int64(len(data)), wantErr: io.EOF},
		{name: "short on a buffer edge", src: bytes.NewReader(data[:2*pipeBufSize]), n: 3 * pipeBufSize, want: 2 * pipeBufSize, wantErr: io.EOF},
		{name: "read error", src: &failReader{bytes.NewReader(data[:2*pipeBufSize+5]), errRead}, n: int64(len(data)),
			want: 2*pipeBufSize + 5, wantErr: errRead},
		{name: "write error", src: bytes.NewReader(data), dst: func() io.Writer { return &failWriter{after: pipeBufSize + 10} },
			n: int64(len(data)), want: pipeBufSize + 10, wantErr: errWrite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			var dst io.Writer = &buf
			if tc.dst != nil {
				dst = tc.dst()
			}
			got, err := pipeCopy(dst, tc.src, tc.n)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Fatalf("copied %d, err %v; want %d, %v", got, err, tc.want, tc.wantErr)
			}
			if tc.dst == nil && !bytes.Equal(buf.Bytes(), data[:got]) {
				t.Error("copied bytes differ from the source")
			}
		})
	}
}
