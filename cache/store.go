package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/internal/atomicfile"
	"github.com/lade-build/lade/internal/ctxio"
	"github.com/lade-build/lade/internal/idle"
)

// ErrDigestMismatch is wrapped by every error reporting content whose digest
// or size is not what it should be (on ingest or when reading back).
var ErrDigestMismatch = errors.New("digest mismatch")

// staleIngest is how old a temp file must be before Open removes it: old
// enough that no live process can still be writing it.
const staleIngest = 24 * time.Hour

// copyBufSize is the buffer used to stream blobs to disk.
const copyBufSize = 1 << 20

// Store is a content-addressed blob store rooted at one directory. It holds
// no state beyond the path (and its own background removals), so any
// number of Stores (in any number of processes) may share a root.
type Store struct {
	root   string
	blobs  string // root/blobs/sha256
	ingest string // root/ingest
	bg     sync.WaitGroup
	// fresh maps the digests of blobs this Store committed to the file
	// they went into (see Open).
	fresh sync.Map // v1.Hash -> fileKey
}

// fileKey identifies one version of a file: a write to it changes ctime.
type fileKey struct {
	dev, ino, size, ctime, mtime int64
}

func keyOf(fi os.FileInfo) (fileKey, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileKey{}, false
	}
	return fileKey{int64(st.Dev), int64(st.Ino), st.Size, st.Ctim.Nano(), st.Mtim.Nano()}, true
}

// Open creates (if needed) and opens the content store at root.
func Open(root string) (*Store, error) {
	s := &Store{
		root:   root,
		blobs:  filepath.Join(root, "blobs", "sha256"),
		ingest: filepath.Join(root, "ingest"),
	}
	for _, d := range []string{s.blobs, s.ingest} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("opening content store %s: %w", root, err)
		}
	}
	s.removeStaleIngests()
	return s, nil
}

// removeStaleIngests deletes temp files left by killed processes long ago.
// Fresh ones may belong to a live writer and are left alone.
func (s *Store) removeStaleIngests() {
	ents, err := os.ReadDir(s.ingest)
	if err != nil {
		return
	}
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleIngest {
			os.Remove(filepath.Join(s.ingest, e.Name()))
		}
	}
}

// path returns where the blob d lives, rejecting anything that is not a
// well-formed sha256 digest so a digest can never escape the blobs dir.
func (s *Store) path(d v1.Hash) (string, error) {
	if d.Algorithm != "sha256" {
		return "", fmt.Errorf("unsupported digest algorithm %q in %s", d.Algorithm, d)
	}
	if !validHex(d.Hex) {
		return "", fmt.Errorf("malformed sha256 digest %q", d.Hex)
	}
	return filepath.Join(s.blobs, d.Hex), nil
}

func validHex(h string) bool {
	if len(h) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Has reports whether the blob d is stored.
func (s *Store) Has(d v1.Hash) bool {
	fi, err := s.Stat(d)
	return err == nil && fi.Mode().IsRegular()
}

// Size returns the stored size of blob d.
func (s *Store) Size(d v1.Hash) (int64, error) {
	fi, err := s.Stat(d)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Stat describes the file of blob d (GC reads its age).
func (s *Store) Stat(d v1.Hash) (fs.FileInfo, error) {
	p, err := s.path(d)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		err = fmt.Errorf("blob %s: %w", d, err)
	}
	return fi, err
}

// Open streams blob d. The reader hashes what it returns and fails at EOF
// (wrapping ErrDigestMismatch) if the bytes on disk no longer match d.
// A missing blob gives an error wrapping fs.ErrNotExist.
func (s *Store) Open(d v1.Hash) (io.ReadCloser, error) {
	p, err := s.path(d)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("opening blob %s: %w", d, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening blob %s: %w", d, err)
	}
	// A blob this Store committed, hashed as it was written and not
	// written to since (its ctime would have moved), is not hashed again:
	// a pull's unpack and a build's export read what was just stored.
	// Its size is still checked. Any other blob is verified in full.
	if k, ok := keyOf(fi); ok {
		if want, found := s.fresh.Load(d); found && want.(fileKey) == k {
			return &sizeChecker{f: f, want: d, size: fi.Size()}, nil
		}
	}
	return newVerifier(f, "blob", d, fi.Size()), nil
}

// sizeChecker reads a blob known to hash to want, failing at EOF when it
// does not have size bytes.
type sizeChecker struct {
	f    *os.File
	want v1.Hash
	size int64
	n    int64
}

func (c *sizeChecker) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.n += int64(n)
	if c.n > c.size || err == io.EOF && c.n != c.size {
		return n, fmt.Errorf("blob %s is corrupt: %d bytes, want %d: %w", c.want, c.n, c.size, ErrDigestMismatch)
	}
	return n, err
}

func (c *sizeChecker) Close() error { return c.f.Close() }

// Verifies: as the verifier's, so consumers leave the check to it.
func (c *sizeChecker) Verifies() (v1.Hash, int64) { return c.want, c.size }

// StoredFile is the blob's file, which needs no hashing (see Open), for a
// consumer that copies it in the kernel (copy_file_range) instead of
// reading it; that consumer checks the size itself.
func (c *sizeChecker) StoredFile() *os.File { return c.f }

// Put stores the content of r and returns its digest and size. want (if not
// the zero Hash) and size (if not -1) are checked before the blob becomes
// visible; on mismatch nothing is stored. If want is already present, r is
// not read at all.
func (s *Store) Put(ctx context.Context, r io.Reader, want v1.Hash, size int64) (v1.Hash, int64, error) {
	known := want != (v1.Hash{})
	label := "blob"
	if known {
		label = "blob " + want.String()
		p, err := s.path(want)
		if err != nil {
			return v1.Hash{}, 0, fmt.Errorf("storing %s: %w", label, err)
		}
		if fi, err := os.Stat(p); err == nil {
			if size >= 0 && fi.Size() != size {
				return v1.Hash{}, 0, fmt.Errorf("storing %s: stored blob has %d bytes, want %d: %w", label, fi.Size(), size, ErrDigestMismatch)
			}
			return want, fi.Size(), nil
		}
	}
	f, err := os.CreateTemp(s.ingest, "put-*")
	if err != nil {
		return v1.Hash{}, 0, fmt.Errorf("storing %s: %w", label, err)
	}
	defer discard(f)

	h := sha256.New()
	var src io.Reader = ctxio.Reader(ctx, r)
	if size >= 0 {
		// One byte more than expected is enough to detect an overlong stream.
		src = io.LimitReader(src, size+1)
	}
	n, err := io.CopyBuffer(io.MultiWriter(f, h), src, make([]byte, copyBufSize))
	if err != nil {
		return v1.Hash{}, 0, fmt.Errorf("storing %s: %w", label, err)
	}
	if size >= 0 && n != size {
		return v1.Hash{}, 0, fmt.Errorf("storing %s: got %d bytes, want %d: %w", label, n, size, ErrDigestMismatch)
	}
	got := sum(h)
	if known && got != want {
		return v1.Hash{}, 0, fmt.Errorf("storing %s: content has digest %s: %w", label, got, ErrDigestMismatch)
	}
	if err := s.commit(f, got, n); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("storing %s: %w", label, err)
	}
	return got, n, nil
}

// PutBytes stores b and returns its digest.
func (s *Store) PutBytes(ctx context.Context, b []byte) (v1.Hash, error) {
	d, _, err := s.Put(ctx, bytes.NewReader(b), v1.Hash{}, int64(len(b)))
	return d, err
}

// commit makes the fully written temp file f durable and moves it into
// place as blob d. rename is atomic, so a concurrent writer of the same
// content just replaces identical bytes.
func (s *Store) commit(f *os.File, d v1.Hash, size int64) error {
	p, err := s.path(d)
	if err != nil {
		return err
	}
	// A blob already stored as d holds these very bytes (its name is
	// their digest), as containerd's store reasons too: keep it. Renaming
	// over it would free its blocks inside the rename, ~50 ms for 100 MB
	// on ext4, and fsyncing ours would be moot. Ours goes in the
	// background (Wait); a killed process leaves it to removeStaleIngests.
	if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && fi.Size() == size {
		drop := f.Name() + ".dup"
		f.Close()
		if err := os.Rename(f.Name(), drop); err != nil {
			return err
		}
		idle.Go(&s.bg, func() { os.Remove(drop) })
		return nil
	}
	if err := f.Chmod(0o444); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return err
	}
	if err := atomicfile.SyncDir(s.blobs); err != nil {
		return err
	}
	if fi, err := os.Lstat(p); err == nil && fi.Size() == size {
		if k, ok := keyOf(fi); ok {
			s.fresh.Store(d, k)
		}
	}
	return nil
}

// Wait waits for the removals of duplicate temp files commit started.
func (s *Store) Wait() { s.bg.Wait() }

// discard removes a temp file unless commit already renamed it away.
func discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// Delete removes blob d. Deleting an absent blob is not an error.
func (s *Store) Delete(d v1.Hash) error {
	p, err := s.path(d)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting blob %s: %w", d, err)
	}
	return nil
}

// Walk calls fn for every stored blob, in digest order, stopping at the
// first error fn returns.
func (s *Store) Walk(fn func(d v1.Hash, size int64) error) error {
	ents, err := os.ReadDir(s.blobs)
	if err != nil {
		return fmt.Errorf("walking content store: %w", err)
	}
	for _, e := range ents {
		if !validHex(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted while walking
		}
		if err != nil {
			return fmt.Errorf("walking content store: %w", err)
		}
		if err := fn(v1.Hash{Algorithm: "sha256", Hex: e.Name()}, fi.Size()); err != nil {
			return err
		}
	}
	return nil
}

func sum(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// verifier passes reads through while hashing them and turns EOF into an
// error when the digest or size is wrong. what names the content in errors.
type verifier struct {
	rc   io.ReadCloser
	what string
	want v1.Hash
	size int64 // -1: unknown
	h    hash.Hash
	n    int64
	err  error
}

func newVerifier(rc io.ReadCloser, what string, want v1.Hash, size int64) *verifier {
	return &verifier{rc: rc, what: what, want: want, size: size, h: sha256.New()}
}

func (v *verifier) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.size >= 0 && v.n > v.size {
		err = fmt.Errorf("%s %s is corrupt: more than %d bytes: %w", v.what, v.want, v.size, ErrDigestMismatch)
	} else if err == io.EOF {
		if got := sum(v.h); got != v.want {
			err = fmt.Errorf("%s %s is corrupt: content has digest %s: %w", v.what, v.want, got, ErrDigestMismatch)
		} else if v.size >= 0 && v.n != v.size {
			err = fmt.Errorf("%s %s is corrupt: %d bytes, want %d: %w", v.what, v.want, v.n, v.size, ErrDigestMismatch)
		}
	}
	if err != nil {
		v.err = err
	}
	return n, err
}

func (v *verifier) Close() error { return v.rc.Close() }

// Verifies reports the digest and size (-1: unknown) this reader checks
// at EOF, failing the read that hits EOF on a mismatch: a consumer that
// would hash the stream for the same digest can leave it to the reader.
func (v *verifier) Verifies() (v1.Hash, int64) { return v.want, v.size }
