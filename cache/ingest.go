package cache

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Ingest is a blob being written: what is written goes to a temp file
// under ingest/ and is hashed on the way. Commit checks the digest and
// size and renames the file into blobs/; Discard (always deferred) drops
// what was not committed. A pull tees a registry body into an Ingest
// while the same bytes are unpacked, so the blob is read only once.
type Ingest struct {
	s     *Store
	f     *os.File
	h     hash.Hash
	label string
	want  v1.Hash // zero: any digest
	size  int64   // -1: any size
	n     int64
	done  bool

	// What Tail readers wait on: n grew, or the writer finished.
	mu     sync.Mutex
	grew   *sync.Cond
	closed bool
	werr   error
}

// NewIngest starts writing a blob that must hash to want (unless zero)
// and have size bytes (unless -1).
func (s *Store) NewIngest(want v1.Hash, size int64) (*Ingest, error) {
	label := "blob"
	if want != (v1.Hash{}) {
		label = "blob " + want.String()
		if _, err := s.path(want); err != nil {
			return nil, fmt.Errorf("storing %s: %w", label, err)
		}
	}
	f, err := os.CreateTemp(s.ingest, "put-*")
	if err != nil {
		return nil, fmt.Errorf("storing %s: %w", label, err)
	}
	i := &Ingest{s: s, f: f, h: sha256.New(), label: label, want: want, size: size}
	i.grew = sync.NewCond(&i.mu)
	return i, nil
}

// Write stores and hashes p.
func (i *Ingest) Write(p []byte) (int, error) {
	n, err := i.f.Write(p)
	i.h.Write(p[:n])
	i.mu.Lock()
	i.n += int64(n)
	i.mu.Unlock()
	i.grew.Broadcast()
	return n, err
}

// CloseWrite tells Tail readers the writer is done: they read to the end
// of what was written, then get err (io.EOF when nil).
func (i *Ingest) CloseWrite(err error) {
	if err == nil {
		err = io.EOF
	}
	i.mu.Lock()
	i.closed, i.werr = true, err
	i.mu.Unlock()
	i.grew.Broadcast()
}

// Tail reads what is written to i from the start, from the temp file
// (the page cache, in effect), waiting for more until CloseWrite. A pull
// downloads into the Ingest at the network's pace while the extractor
// tails it at its own, and no side waits on the other.
func (i *Ingest) Tail() io.Reader { return &tail{i: i} }

type tail struct {
	i   *Ingest
	off int64
}

func (t *tail) Read(p []byte) (int, error) {
	i := t.i
	i.mu.Lock()
	for t.off >= i.n && !i.closed {
		i.grew.Wait()
	}
	avail, werr := i.n-t.off, i.werr
	i.mu.Unlock()
	if avail == 0 {
		return 0, werr
	}
	if int64(len(p)) > avail {
		p = p[:avail]
	}
	n, err := i.f.ReadAt(p, t.off)
	t.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Verify checks what was written against the expected size and digest,
// and returns the digest.
func (i *Ingest) Verify() (v1.Hash, error) {
	if i.size >= 0 && i.n != i.size {
		return v1.Hash{}, fmt.Errorf("storing %s: got %d bytes, want %d: %w", i.label, i.n, i.size, ErrDigestMismatch)
	}
	got := sum(i.h)
	if i.want != (v1.Hash{}) && got != i.want {
		return v1.Hash{}, fmt.Errorf("storing %s: content has digest %s: %w", i.label, got, ErrDigestMismatch)
	}
	return got, nil
}

// Commit verifies the blob and makes it visible, durably. It returns the
// digest and size.
func (i *Ingest) Commit() (v1.Hash, int64, error) {
	got, err := i.Verify()
	if err != nil {
		return v1.Hash{}, 0, err
	}
	if err := i.s.commit(i.f, got, i.n); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("storing %s: %w", i.label, err)
	}
	i.done = true
	return got, i.n, nil
}

// Discard removes the temp file unless Commit moved it into place.
func (i *Ingest) Discard() {
	if !i.done {
		discard(i.f)
		i.done = true
	}
}
