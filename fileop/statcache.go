package fileop

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/atomicfile"
)

// StatCaches is the directory that holds one stat record per build
// context, so a build reads and writes only its own context's record and
// its cost does not depend on what other contexts the root has seen. Each
// record is bounded by its context: saving drops the entries of files that
// are gone or changed. It is a cache.Scratcher: prune removes records not
// used for its min-age.
//
// One small file per context (statrecord.go) rather than an embedded database
// (bbolt): a build touches one context, so the whole record is the
// working set, and a file rewritten atomically needs no new dependency,
// no lock beyond the rename and no compaction.
type StatCaches string

// legacyStatCache is the single root-wide record older versions kept
// beside the directory; it is no longer read and prune removes it.
func (d StatCaches) legacy() string { return string(d) + ".json" }

// Open returns the record of the context at contextDir (an absolute
// path), read on first use.
func (d StatCaches) Open(contextDir string) *StatCache {
	sum := sha256.Sum256([]byte(contextDir))
	return OpenStatCache(filepath.Join(string(d), hex.EncodeToString(sum[:16])+recordExt))
}

// Scratch lists the per-context records, any temp file a killed save
// left, and the legacy root-wide record. Saving or using a record moves
// its mtime, so prune's age test reads "not used for".
func (d StatCaches) Scratch() []string {
	out, _ := filepath.Glob(filepath.Join(string(d), "*"))
	if _, err := os.Lstat(d.legacy()); err == nil {
		out = append(out, d.legacy())
	}
	return out
}

// StatCache remembers the content digest of files by (path, dev, inode,
// size, mtime, ctime), so hashing an unchanged build context reads no file
// content. ctime is part of the key because every real write moves it,
// even one that restores size and mtime (the false cache hit BuildKit has
// when only mtime and size are compared).
type StatCache struct {
	mu     sync.Mutex
	path   string
	loaded bool
	found  bool              // the record existed on disk
	m      map[string]string // as loaded
	used   map[string]string // looked up or added by this build
	dirty  bool
	reads  int // files whose content was read, for tests
}

// keyOf is the record key of the file at p with stat st: the path, a
// NUL, then dev:ino:size:mtime.nsec:ctime.nsec. Built with strconv, not
// fmt: a no-op rebuild of a 100k-file context makes one per file, and
// Sprintf was a quarter of its CPU time.
func keyOf(p string, st *unix.Stat_t) string {
	b := make([]byte, 0, len(p)+96)
	b = append(append(b, p...), 0)
	b = strconv.AppendUint(b, st.Dev, 10)
	b = strconv.AppendUint(append(b, ':'), st.Ino, 10)
	b = strconv.AppendInt(append(b, ':'), st.Size, 10)
	b = strconv.AppendInt(append(b, ':'), st.Mtim.Sec, 10)
	b = strconv.AppendInt(append(b, '.'), st.Mtim.Nsec, 10)
	b = strconv.AppendInt(append(b, ':'), st.Ctim.Sec, 10)
	b = strconv.AppendInt(append(b, '.'), st.Ctim.Nsec, 10)
	return string(b)
}

// OpenStatCache returns the record kept at file (missing is fine). It is
// read on first use: builds that hash no context files (RUN-only stages,
// COPY --from) skip parsing it.
func OpenStatCache(file string) *StatCache {
	return &StatCache{path: file, m: map[string]string{}, used: map[string]string{}}
}

// load reads the record once; c.mu is held.
func (c *StatCache) load() {
	if c.loaded {
		return
	}
	c.loaded = true
	if c.path == "" {
		return
	}
	b, err := os.ReadFile(c.path)
	if err != nil {
		return
	}
	c.found = true
	if m, err := decodeRecord(b); err == nil {
		c.m = m
		// Most of a context is unchanged: size used for all of it, so
		// it does not grow by rehashing 100k times.
		if len(c.used) == 0 {
			c.used = make(map[string]string, len(m))
		}
	} else {
		// A damaged record only costs re-hashing; rewrite it.
		c.dirty = true
	}
}

// Save writes the record atomically if it changed, keeping the entries
// this build used and those whose file is still unchanged on disk; an
// unchanged record only has its mtime moved, marking it as in use.
func (c *StatCache) Save() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded || c.path == "" {
		return nil
	}
	if !c.dirty {
		if c.found {
			now := time.Now()
			_ = os.Chtimes(c.path, now, now)
		}
		return nil
	}
	for k, d := range c.m {
		if _, ok := c.used[k]; !ok && stillValid(k) {
			c.used[k] = d
		}
	}
	b := encodeRecord(c.used)
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return err
	}
	// No Sync: a lost record only costs re-hashing.
	if err := atomicfile.WriteFile(c.path, b, atomicfile.Options{Perm: 0o600}); err != nil {
		return err
	}
	c.m, c.used = c.used, map[string]string{}
	c.found, c.dirty = true, false
	return nil
}

// stillValid reports whether the file a key names still has that stat.
func stillValid(k string) bool {
	p, _, ok := strings.Cut(k, "\x00")
	if !ok {
		return false
	}
	var st unix.Stat_t
	if unix.Lstat(p, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	return keyOf(p, &st) == k
}

// fileDigest returns the sha256 of a regular file's content.
func (c *StatCache) fileDigest(p string, st *unix.Stat_t) (string, error) {
	k := keyOf(p, st)
	if d, ok := c.lookup(k); ok {
		return d, nil
	}
	return c.hash(p, k)
}

// lookup returns the digest recorded under key k; a miss is counted as a
// read, which hash then does.
func (c *StatCache) lookup(k string) (string, bool) {
	d := c.lookupAll([]string{k})[0]
	return d, d != ""
}

// lookupAll is lookup of each key in keys under one lock; a miss gives
// "".
func (c *StatCache) lookupAll(keys []string) []string {
	out := make([]string, len(keys))
	if c == nil || len(keys) == 0 {
		return out
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.load()
	for i, k := range keys {
		d, ok := c.used[k]
		if !ok {
			if d, ok = c.m[k]; ok {
				c.used[k] = d
			}
		}
		if !ok {
			c.reads++
		}
		out[i] = d
	}
	return out
}

// hash digests the file at p and records it under key k.
func (c *StatCache) hash(p, k string) (string, error) {
	d, err := hashFile(p)
	if err != nil || c == nil {
		return d, err
	}
	c.mu.Lock()
	c.used[k] = d
	c.dirty = true
	c.mu.Unlock()
	return d, nil
}
