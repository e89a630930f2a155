package fileop

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
// One small JSON file per context rather than an embedded database
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
	return OpenStatCache(filepath.Join(string(d), hex.EncodeToString(sum[:16])+".json"))
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

type statKey struct {
	Path                 string
	Dev, Ino             uint64
	Size                 int64
	Mtime, Ctime         int64
	MtimeNsec, CtimeNsec int64
}

func (k statKey) String() string {
	return fmt.Sprintf("%s\x00%d:%d:%d:%d.%d:%d.%d", k.Path, k.Dev, k.Ino, k.Size, k.Mtime, k.MtimeNsec, k.Ctime, k.CtimeNsec)
}

// keyOf is the record key of the file at p with stat st.
func keyOf(p string, st *unix.Stat_t) string {
	return statKey{Path: p, Dev: st.Dev, Ino: st.Ino, Size: st.Size,
		Mtime: st.Mtim.Sec, MtimeNsec: st.Mtim.Nsec, Ctime: st.Ctim.Sec, CtimeNsec: st.Ctim.Nsec}.String()
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
	if json.Unmarshal(b, &c.m) != nil {
		// A damaged record only costs re-hashing; rewrite it.
		c.m = map[string]string{}
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
	b, err := json.Marshal(c.used)
	if err != nil {
		return err
	}
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
	if c != nil {
		c.mu.Lock()
		c.load()
		d, ok := c.used[k]
		if !ok {
			if d, ok = c.m[k]; ok {
				c.used[k] = d
			}
		}
		if ok {
			c.mu.Unlock()
			return d, nil
		}
		c.reads++
		c.mu.Unlock()
	}
	d, err := hashFile(p)
	if err != nil {
		return "", err
	}
	if c != nil {
		c.mu.Lock()
		c.used[k] = d
		c.dirty = true
		c.mu.Unlock()
	}
	return d, nil
}
