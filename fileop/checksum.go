package fileop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// hashFile is the hex sha256 of a regular file, read through a raw fd
// (no Go poller) with a pooled buffer.
func hashFile(p string) (string, error) {
	fd, err := openFd(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	h := sha256.New()
	for {
		n, err := unix.Read(fd, *bp)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", &os.PathError{Op: "read", Path: p, Err: err}
		}
		if n == 0 {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		h.Write((*bp)[:n])
	}
}

// Checksum digests what a COPY/ADD of paths from src would read: names,
// types, modes, ownership (when kept), link targets and file content, after
// .dockerignore. It may cover more than Copy writes (--exclude and
// --parents filters are not applied), which can only cause a cache miss,
// never a false hit. mtimes are not part of it.
func Checksum(ctx context.Context, src Source, paths []string, sc *StatCache) (string, error) {
	return checksum(ctx, CopyOptions{Src: src, Paths: paths}, sc)
}

// ChecksumFetched is Checksum of a file returned by FetchURL, its name
// taken literally as CopyFetched takes it.
func ChecksumFetched(ctx context.Context, fetchedPath string) (string, error) {
	return checksum(ctx, fetchedOptions(fetchedPath, CopyOptions{}), nil)
}

func checksum(ctx context.Context, opts CopyOptions, sc *StatCache) (string, error) {
	root, err := filepath.EvalSymlinks(opts.Src.Root)
	if err != nil {
		return "", fmt.Errorf("checksum: source root: %w", err)
	}
	c := &copier{ctx: ctx, opts: opts, srcRoot: root}
	h := sha256.New()
	for _, p := range opts.Paths {
		matches, err := c.resolve(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "path %q %d\n", p, len(matches))
		for _, m := range matches {
			if err := c.hashTree(h, m.name, m.real, sc, true); err != nil {
				return "", err
			}
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func (c *copier) hashTree(h hash.Hash, name, real string, sc *StatCache, top bool) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	var st unix.Stat_t
	stat := unix.Lstat
	if top {
		stat = unix.Stat // a named source that is a symlink is followed, as Copy does
	}
	if err := stat(real, &st); err != nil {
		if top {
			// Followed in-root by Copy; here fall back to the link itself.
			if err := unix.Lstat(real, &st); err != nil {
				return &os.PathError{Op: "lstat", Path: real, Err: err}
			}
		} else {
			return &os.PathError{Op: "lstat", Path: real, Err: err}
		}
	}
	digest := ""
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		d, err := sc.fileDigest(real, &st)
		if err != nil {
			return err
		}
		digest = d
	}
	return c.hashEntry(h, name, real, &st, digest, sc)
}

// hashEntry writes one entry, given its stat and, for a regular file, its
// content digest; a directory's children follow in name order.
func (c *copier) hashEntry(h hash.Hash, name, real string, st *unix.Stat_t, digest string, sc *StatCache) error {
	// One line an entry, built with strconv (fmt cost as much as the
	// lstat per file); the bytes are those of the format
	// "T %q %o owner ...\n" that TestChecksumStable pins.
	b := append(append(c.line[:0], ' ', ' '), strconv.Quote(name)...)
	mode := uint64(st.Mode & 0o7777)
	owner := func(b []byte) []byte {
		if !c.opts.Src.KeepOwner {
			return b
		}
		b = strconv.AppendUint(append(b, ' '), uint64(st.Uid), 10)
		return strconv.AppendUint(append(b, ':'), uint64(st.Gid), 10)
	}
	var kids []hashKid
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		b[0] = 'f'
		b = owner(strconv.AppendUint(append(b, ' '), mode, 8))
		b = append(append(b, ' '), digest...)
	case unix.S_IFLNK:
		target, err := os.Readlink(real)
		if err != nil {
			return err
		}
		b[0] = 'l'
		b = append(append(owner(b), ' '), strconv.Quote(target)...)
	case unix.S_IFDIR:
		b[0] = 'd'
		b = owner(strconv.AppendUint(append(b, ' '), mode, 8))
		var err error
		if kids, err = c.hashChildren(real, sc); err != nil {
			return err
		}
	default:
		b[0] = 'o'
		b = owner(strconv.AppendUint(append(b, ' '), uint64(st.Mode), 8))
		b = strconv.AppendUint(append(b, ' '), st.Rdev, 10)
	}
	c.line = append(b, '\n')
	h.Write(c.line)
	for _, k := range kids {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		if err := c.hashEntry(h, path.Join(name, k.name), k.real, &k.st, k.digest, sc); err != nil {
			return err
		}
	}
	return nil
}

type hashKid struct {
	name, real string
	key        string // stat cache key of a file whose content must be read
	st         unix.Stat_t
	digest     string
}

// hashChildren lists dir's visible entries in name order, stat'ed once,
// with the content digests of its regular files: those the stat cache
// has, then the others read on a few goroutines (hashing a cold context
// is read and sha256 bound).
func (c *copier) hashChildren(dir string, sc *StatCache) ([]hashKid, error) {
	ents, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, err
	}
	kids := make([]hashKid, len(ents))
	// A large directory is stat'ed in chunks on several goroutines: on
	// a warm no-op rebuild the lstat calls are most of the work.
	g, gctx := errgroup.WithContext(c.ctx)
	g.SetLimit(copyWorkers)
	for lo := 0; lo < len(ents); lo += statChunk {
		hi := min(lo+statChunk, len(ents))
		g.Go(func() error { return c.statKids(dir, ents[lo:hi], kids[lo:hi], sc) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	n := 0
	for _, k := range kids {
		if k.name != "" {
			kids[n] = k
			n++
		}
	}
	kids = kids[:n]
	g, gctx = errgroup.WithContext(c.ctx)
	g.SetLimit(copyWorkers)
	for i := range kids {
		k := &kids[i]
		if k.key == "" {
			continue // not a regular file, or its digest was recorded
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			d, err := sc.hash(k.real, k.key)
			k.digest = d
			return err
		})
	}
	return kids, g.Wait()
}

// statChunk is how many entries of a directory one goroutine stats.
const statChunk = 512

// statKids fills kids from ents: stat, visibility, and for a regular file
// the digest the stat cache records, or its key when it has none. An
// entry that vanished or is ignored keeps an empty name.
func (c *copier) statKids(dir string, ents []os.DirEntry, kids []hashKid, sc *StatCache) error {
	var keys []string
	var files []int
	for i, e := range ents {
		k := hashKid{name: e.Name(), real: filepath.Join(dir, e.Name())}
		if err := unix.Lstat(k.real, &k.st); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return &os.PathError{Op: "lstat", Path: k.real, Err: err}
		}
		if vis, err := c.visible(k.real, k.st.Mode&unix.S_IFMT == unix.S_IFDIR); err != nil {
			return err
		} else if !vis {
			continue
		}
		if k.st.Mode&unix.S_IFMT == unix.S_IFREG {
			k.key = keyOf(k.real, &k.st)
			keys = append(keys, k.key)
			files = append(files, i)
		}
		kids[i] = k
	}
	for j, d := range sc.lookupAll(keys) {
		if d != "" {
			kids[files[j]].digest, kids[files[j]].key = d, ""
		}
	}
	return nil
}
