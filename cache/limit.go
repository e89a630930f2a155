package cache

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ErrLayerTooLarge is wrapped when a layer decompresses to more than
// MaxUncompressedLayer bytes.
var ErrLayerTooLarge = errors.New("uncompressed layer exceeds the size limit")

// DefaultMaxUncompressedLayer is far above any real image layer, yet stops
// a gzip bomb (1000:1) long before it can fill a disk of its own size.
const DefaultMaxUncompressedLayer = 64 << 30

// MaxLayerSizeEnv names the environment variable that sets
// MaxUncompressedLayer, for errors that tell the user what to change.
const MaxLayerSizeEnv = "LADE_MAX_LAYER_SIZE"

// MaxUncompressedLayer caps how many bytes one layer may decompress to; the
// diffID check comes only at EOF, after an extraction has written it all.
// LADE_MAX_LAYER_SIZE (bytes) sets it at start-up; <= 0 means no limit.
var MaxUncompressedLayer int64 = maxLayerFromEnv()

func maxLayerFromEnv() int64 {
	if v := os.Getenv(MaxLayerSizeEnv); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return DefaultMaxUncompressedLayer
}

// capReader fails once more than max bytes came through.
type capReader struct {
	r      io.Reader
	digest v1.Hash
	max    int64
	n      int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.max <= 0 {
		return c.r.Read(p)
	}
	if c.n > c.max {
		return 0, c.err()
	}
	// One byte past the cap is enough to tell an overlong stream.
	if rest := c.max + 1 - c.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, c.err()
	}
	return n, err
}

func (c *capReader) err() error {
	return fmt.Errorf("layer %s: decompressing: more than %d bytes: %w", c.digest, c.max, ErrLayerTooLarge)
}

// causeReader reports a corrupt stored blob instead of the decompression
// or tar error it caused: those come before the blob's digest is checked
// at EOF. The blob is re-read from disk, never from the failing stream.
type causeReader struct {
	r       io.Reader
	l       *storeLayer
	checked bool
}

func (c *causeReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF && !c.checked && !errors.Is(err, ErrLayerTooLarge) {
		c.checked = true
		if rc, oerr := c.l.Compressed(); oerr == nil {
			_, cerr := io.Copy(io.Discard, rc)
			rc.Close()
			if cerr != nil {
				err = cerr
			}
		}
	}
	return n, err
}
