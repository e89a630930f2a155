package cache

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"os"

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
	return &Ingest{s: s, f: f, h: sha256.New(), label: label, want: want, size: size}, nil
}

// Write stores and hashes p.
func (i *Ingest) Write(p []byte) (int, error) {
	n, err := i.f.Write(p)
	i.h.Write(p[:n])
	i.n += int64(n)
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
