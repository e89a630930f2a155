package blockgzip

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/flate"
)

// Inputs of the kinds a layer holds: text, random (already compressed)
// bytes, random files between tar-like zero-padded headers, and mixtures,
// around the block size.
func gzipInputs() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	var text bytes.Buffer
	for i := 0; text.Len() < 3*BlockSize; i++ {
		fmt.Fprintf(&text, "line %d: the quick brown fox jumps over the lazy dog %d\n", i, i%97)
	}
	var files bytes.Buffer
	for files.Len() < 2*BlockSize+12345 {
		hdr := make([]byte, 512)
		copy(hdr, fmt.Sprintf("d%d/f%d\x000000644\x00", files.Len()%100, files.Len()))
		files.Write(hdr)
		files.Write(random(10 << 10))
	}
	mixed := append(append(random(BlockSize/2), text.Bytes()[:BlockSize]...), random(BlockSize)...)
	return map[string][]byte{
		"empty":          nil,
		"small":          []byte("hello\n"),
		"text":           text.Bytes(),
		"one block":      random(BlockSize),
		"random":         random(3*BlockSize + 7),
		"tar-like files": files.Bytes(),
		"mixed":          mixed,
		"zeros":          make([]byte, 2*BlockSize+1),
	}
}

func blockGzipBytes(t *testing.T, in []byte, chunk int) []byte {
	t.Helper()
	var out bytes.Buffer
	z := NewWriter(&out, flate.DefaultCompression)
	for p := in; len(p) > 0; {
		n := min(chunk, len(p))
		if _, err := z.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestBlockGzipRoundTrip(t *testing.T) {
	for name, in := range gzipInputs() {
		t.Run(name, func(t *testing.T) {
			gz := blockGzipBytes(t, in, 32<<10)
			br := bytes.NewReader(gz)
			zr, err := gzip.NewReader(br)
			if err != nil {
				t.Fatal(err)
			}
			if zr.Header.OS != 255 || !zr.Header.ModTime.IsZero() || zr.Header.Name != "" {
				t.Errorf("header %+v, want OS 255 and no mtime or name", zr.Header)
			}
			zr.Multistream(false)
			got, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("standard library gunzip: %v", err) // also checks CRC and size
			}
			if !bytes.Equal(got, in) {
				t.Fatalf("round trip gave %d bytes, want the %d written", len(got), len(in))
			}
			if br.Len() != 0 {
				t.Fatalf("%d bytes after the gzip member", br.Len())
			}
		})
	}
}

// The bytes depend only on the input: not on how it was written, nor on
// how many CPUs compressed it.
func TestBlockGzipDeterministic(t *testing.T) {
	in := gzipInputs()["mixed"]
	want := blockGzipBytes(t, in, 32<<10)
	if got := blockGzipBytes(t, in, 1000003); !bytes.Equal(got, want) {
		t.Error("output differs with the write sizes")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if got := blockGzipBytes(t, in, 32<<10); !bytes.Equal(got, want) {
		t.Error("output differs with GOMAXPROCS=1")
	}
	runtime.GOMAXPROCS(8)
	if got := blockGzipBytes(t, in, 32<<10); !bytes.Equal(got, want) {
		t.Error("output differs with GOMAXPROCS=8")
	}
}

// ReadFrom (what io.Copy and bufio.Reader.WriteTo call) cuts the blocks
// where Write does: the same bytes, however the reads come.
func TestBlockGzipReadFrom(t *testing.T) {
	var _ io.ReaderFrom = (*Writer)(nil)
	for name, in := range gzipInputs() {
		want := blockGzipBytes(t, in, 32<<10)
		for _, rc := range []struct {
			name string
			r    func() io.Reader
		}{
			{"half reads", func() io.Reader { return iotest.HalfReader(bytes.NewReader(in)) }},
			{"data with EOF", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(in)) }},
			{"after a peek", func() io.Reader {
				br := bufio.NewReaderSize(bytes.NewReader(in), BlockSize)
				br.Peek(BlockSize)
				return br // WriteTo: Write for what it holds, then ReadFrom
			}},
		} {
			t.Run(name+"/"+rc.name, func(t *testing.T) {
				var out bytes.Buffer
				z := NewWriter(&out, flate.DefaultCompression)
				n, err := io.Copy(z, rc.r())
				if err != nil || n != int64(len(in)) {
					t.Fatalf("copied %d bytes, err %v; want %d", n, err, len(in))
				}
				if err := z.Close(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out.Bytes(), want) {
					t.Error("output differs from Write's")
				}
			})
		}
	}
}

func TestBlockLevel(t *testing.T) {
	in := gzipInputs()
	for _, tc := range []struct {
		name string
		want []int // any of
	}{
		{"text", []int{flate.DefaultCompression}},
		{"zeros", []int{flate.DefaultCompression}},
		{"random", []int{flate.NoCompression}},
		// Zero runs between random files: no match search either way.
		{"tar-like files", []int{flate.HuffmanOnly, flate.NoCompression}},
		{"small", []int{flate.DefaultCompression}},
	} {
		b := in[tc.name]
		if len(b) > BlockSize {
			b = b[:BlockSize]
		}
		if got := blockLevel(b, flate.DefaultCompression); !slices.Contains(tc.want, got) {
			t.Errorf("%s: level %d, want one of %v", tc.name, got, tc.want)
		}
	}
	// Few repeats but skewed bytes: Huffman coding still pays.
	rng := rand.New(rand.NewPCG(3, 4))
	skewed := make([]byte, BlockSize)
	for i := range skewed {
		skewed[i] = byte(rng.Uint32() % 64)
	}
	if got := blockLevel(skewed, flate.DefaultCompression); got != flate.HuffmanOnly {
		t.Errorf("skewed random bytes: level %d, want Huffman only (%d)", got, flate.HuffmanOnly)
	}
	// Text compresses as before, in the same ballpark as plain gzip.
	text := in["text"]
	gz := blockGzipBytes(t, text, 32<<10)
	var ref bytes.Buffer
	zw := gzip.NewWriter(&ref)
	zw.Write(text)
	zw.Close()
	if float64(len(gz)) > 1.25*float64(ref.Len()) {
		t.Errorf("text: %d bytes compressed, standard gzip makes %d", len(gz), ref.Len())
	}
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestBlockGzipWriteError(t *testing.T) {
	in := gzipInputs()["random"]
	z := NewWriter(&failingWriter{after: BlockSize}, flate.DefaultCompression)
	var werr error
	for p := in; len(p) > 0 && werr == nil; p = p[min(len(p), 64<<10):] {
		_, werr = z.Write(p[:min(len(p), 64<<10)])
	}
	err := z.Close()
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Close = %v (last Write: %v), want the writer's error", err, werr)
	}
	if _, err := z.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
}
