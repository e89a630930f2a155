// Package blockgzip writes gzip streams for layer blobs whose bytes depend
// only on the input: Writer compresses 1 MiB blocks in parallel (see its
// doc), NewSmall is the single-threaded writer for inputs under a block,
// with the same header fields. Both are stateless beyond one stream;
// their buffers and flate writers come from pools.
package blockgzip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
)

// Writer is a parallel gzip writer. The input is cut into
// BlockSize blocks; each is deflated on its own goroutine, primed with
// the previous block's last 32 KiB as dictionary and ended by a sync
// flush, and the results are concatenated in order into one gzip member.
//
// A block whose sample shows almost no repeated sequences (random bytes,
// already compressed files) is only Huffman-coded: the match search finds
// nothing there and costs half of the CPU of the whole layer. The choice
// depends only on the block's bytes, so the same input gives the same
// output on every machine, whatever its CPU count.
type Writer struct {
	w       io.Writer
	level   int
	buf     []byte // the block being filled
	dict    []byte // last window of the block before it
	crc     uint32
	size    uint32 // input length mod 2^32, as gzip's trailer has it
	started bool
	closed  bool

	sem     chan struct{}           // limits blocks compressing at once
	results chan chan *bytes.Buffer // each block's output, in input order
	done    chan struct{}           // the output goroutine ended
	mu      sync.Mutex
	err     error // first output error
}

// BlockSize is fixed so Writer splits the stream at the same offsets on
// every machine, whatever its CPU count: identical input, identical
// digest.
const BlockSize = 1 << 20

const dictSize = 32 << 10

var (
	blockPool = sync.Pool{New: func() any { b := make([]byte, 0, BlockSize); return &b }}
	outPool   = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, BlockSize+BlockSize/16)) }}
	// flate writers are large (hash chains); one pool per level, from
	// HuffmanOnly (-2) to BestCompression (9).
	flatePools [flate.BestCompression - flate.HuffmanOnly + 1]sync.Pool
)

// NewWriter returns a parallel gzip writer of w at a flate level.
func NewWriter(w io.Writer, level int) *Writer {
	workers := runtime.GOMAXPROCS(0)
	z := &Writer{
		w:       w,
		level:   level,
		sem:     make(chan struct{}, workers),
		results: make(chan chan *bytes.Buffer, 2*workers),
		done:    make(chan struct{}),
	}
	z.buf = (*blockPool.Get().(*[]byte))[:0]
	go z.output()
	return z
}

// output writes the blocks' results in order as they are ready.
func (z *Writer) output() {
	defer close(z.done)
	for ch := range z.results {
		out := <-ch
		if z.error() == nil {
			if _, err := z.w.Write(out.Bytes()); err != nil {
				z.setError(err)
			}
		}
		out.Reset()
		outPool.Put(out)
	}
}

func (z *Writer) error() error {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.err
}

func (z *Writer) setError(err error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.err == nil {
		z.err = err
	}
}

// emit queues raw bytes (the header, the trailer) in output order.
func (z *Writer) emit(p []byte) {
	out := outPool.Get().(*bytes.Buffer)
	out.Write(p)
	ch := make(chan *bytes.Buffer, 1)
	ch <- out
	z.results <- ch
}

func (z *Writer) Write(p []byte) (int, error) {
	if err := z.start(); err != nil {
		return 0, err
	}
	z.crc = crc32.Update(z.crc, crc32.IEEETable, p)
	z.size += uint32(len(p))
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), BlockSize-len(z.buf))
		z.buf = append(z.buf, p[:k]...)
		p = p[k:]
		if len(z.buf) == BlockSize {
			z.dispatch(false)
		}
	}
	return n, nil
}

// ReadFrom reads r to EOF straight into the blocks, saving Write's copy
// of every byte (io.Copy and bufio.Reader.WriteTo use it). The blocks
// are cut at the same offsets as by Write, so the output is the same.
func (z *Writer) ReadFrom(r io.Reader) (int64, error) {
	if err := z.start(); err != nil {
		return 0, err
	}
	var total int64
	for {
		n, err := r.Read(z.buf[len(z.buf):BlockSize])
		if n > 0 {
			p := z.buf[len(z.buf) : len(z.buf)+n]
			z.crc = crc32.Update(z.crc, crc32.IEEETable, p)
			z.size += uint32(n)
			z.buf = z.buf[:len(z.buf)+n]
			total += int64(n)
			if len(z.buf) == BlockSize {
				z.dispatch(false)
			}
		}
		if errors.Is(err, io.EOF) {
			return total, z.error()
		}
		if err != nil {
			return total, err
		}
		if err := z.error(); err != nil {
			return total, err
		}
	}
}

// start fails a write after Close or after an output error, and emits
// the header before the first byte.
func (z *Writer) start() error {
	if z.closed {
		return errors.New("gzip: write after close")
	}
	if err := z.error(); err != nil {
		return err
	}
	if !z.started {
		z.started = true
		// No name, no mtime (0), default level (XFL 0), unknown OS.
		z.emit([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255})
	}
	return nil
}

// dispatch hands the filled block to a compressing goroutine.
func (z *Writer) dispatch(last bool) {
	block := z.buf
	dict := z.dict
	if !last {
		// The next block's dictionary; copied, as block goes to the pool.
		next := make([]byte, dictSize)
		copy(next, block[len(block)-dictSize:])
		z.dict = next
		z.buf = (*blockPool.Get().(*[]byte))[:0]
	}
	ch := make(chan *bytes.Buffer, 1)
	z.results <- ch
	z.sem <- struct{}{}
	go func() {
		defer func() { <-z.sem }()
		out := outPool.Get().(*bytes.Buffer)
		if err := deflateBlock(out, block, dict, z.level, last); err != nil {
			z.setError(err)
		}
		block = block[:0]
		blockPool.Put(&block)
		ch <- out
	}()
}

// deflateBlock appends block's deflate data to out: a sync-flushed run,
// or the final one when last.
func deflateBlock(out *bytes.Buffer, block, dict []byte, level int, last bool) error {
	level = blockLevel(block, level)
	if level < flate.HuffmanOnly || level > flate.BestCompression {
		return fmt.Errorf("gzip: invalid compression level %d", level)
	}
	pool := &flatePools[level-flate.HuffmanOnly]
	fw, _ := pool.Get().(*flate.Writer)
	if fw == nil {
		var err error
		if fw, err = flate.NewWriterDict(out, level, dict); err != nil {
			return err
		}
	} else {
		fw.ResetDict(out, dict)
	}
	defer pool.Put(fw)
	if _, err := fw.Write(block); err != nil {
		return err
	}
	if last {
		return fw.Close()
	}
	return fw.Flush()
}

// Close compresses what is left, writes the trailer and waits for all of
// it to reach the underlying writer.
func (z *Writer) Close() error {
	if z.closed {
		return z.error()
	}
	if !z.started {
		_, _ = z.Write(nil)
	}
	z.closed = true
	z.dispatch(true)
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], z.crc)
	binary.LittleEndian.PutUint32(trailer[4:], z.size)
	z.emit(trailer[:])
	close(z.results)
	<-z.done
	return z.error()
}

// blockLevel picks how to deflate b. It samples 8 windows of 4 KiB spread
// over b and counts the positions that start a 4-byte sequence already
// seen in the same window. Under 1 in 8, LZ77 would find almost nothing:
// measured on 1 MiB blocks of a tar of random files, of ELF binaries and
// libraries and of Go source, every block under that line came out of
// Huffman-only coding as small as from level 5 (the repeats there are tar
// headers' zero runs), and every block of source or code was above it.
// When the sample's bytes are also spread evenly enough that Huffman codes
// would save under 1%, the block is stored as it is. Blocks too small to
// sample keep level.
func blockLevel(b []byte, level int) int {
	const win, windows = 4 << 10, 8
	if len(b) < win*windows {
		return level
	}
	var table [1 << 12]uint16 // hash -> position+1 in the window
	var hist [256]int
	matches, total := 0, 0
	step := len(b) / windows
	for i := range windows {
		w := b[i*step : i*step+win]
		clear(table[:])
		for p := 0; p+4 <= len(w); p++ {
			v := binary.LittleEndian.Uint32(w[p:])
			h := (v * 2654435761) >> 20
			if q := int(table[h]); q > 0 && binary.LittleEndian.Uint32(w[q-1:]) == v {
				matches++
			}
			table[h] = uint16(p + 1)
			total++
		}
		for _, c := range w {
			hist[c]++
		}
	}
	if matches*8 >= total {
		return level
	}
	n := float64(win * windows)
	entropy := 0.0
	for _, c := range hist {
		if c > 0 {
			p := float64(c) / n
			entropy -= p * math.Log2(p)
		}
	}
	if entropy > 7.92 {
		return flate.NoCompression
	}
	return flate.HuffmanOnly
}
