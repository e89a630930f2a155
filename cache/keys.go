package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/internal/atomicfile"
)

// Record is one cached step: its key and result, as a remote cache
// carries it.
type Record struct {
	Key    string `json:"key"`
	Result Result `json:"result"`
}

// Result is what a cached build step produced: one layer.
type Result struct {
	Layer   LayerInfo         `json:"layer"`
	Created time.Time         `json:"created"`
	Inputs  map[string]string `json:"inputs,omitempty"` // named inputs of the key, for --explain-cache
}

// Index maps build-step cache keys to results. One small file per key,
// written to a temp file and renamed, so concurrent builds on one root
// never see half a record and the last writer wins with an equal record.
type Index struct {
	dir string
}

// OpenIndex uses dir (e.g. $LADE_ROOT/cache/keys).
func OpenIndex(dir string) (*Index, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("opening cache index: %w", err)
	}
	return &Index{dir: dir}, nil
}

func (ix *Index) file(key string) (string, error) {
	h, err := v1.NewHash(key)
	if err != nil || !validHex(h.Hex) {
		return "", fmt.Errorf("invalid cache key %q", key)
	}
	return filepath.Join(ix.dir, h.Hex+".json"), nil
}

// Get returns the result stored for key and marks the record used now
// (its mtime is the last-used time that prune --filter until and
// --keep-storage go by).
func (ix *Index) Get(key string) (Result, bool) {
	p, err := ix.file(key)
	if err != nil {
		return Result{}, false
	}
	r, ok := ix.read(p)
	if ok {
		now := time.Now()
		_ = os.Chtimes(p, now, now)
	}
	return r, ok
}

func (ix *Index) read(p string) (Result, bool) {
	var r Result
	b, err := os.ReadFile(p)
	if err != nil {
		return r, false
	}
	if json.Unmarshal(b, &r) != nil || r.Layer.DiffID.Hex == "" {
		return Result{}, false // a damaged record is a miss, not an error
	}
	return r, true
}

// Put records key's result.
func (ix *Index) Put(key string, r Result) error {
	p, err := ix.file(key)
	if err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	// No Sync: a record is only a hint. After a crash a missing or torn
	// record is a cache miss (Get rejects what it cannot decode), never a
	// wrong result, and skipping two fsyncs per build step matters.
	if err := atomicfile.WriteFile(p, b, atomicfile.Options{Perm: 0o600}); err != nil {
		return fmt.Errorf("recording cache key: %w", err)
	}
	return nil
}

// Walk calls fn for every recorded key.
func (ix *Index) Walk(fn func(key string, r Result) error) error {
	return ix.WalkUsed(func(key string, r Result, _ time.Time) error { return fn(key, r) })
}

// WalkUsed calls fn for every recorded key with its last-used time,
// without marking anything used.
func (ix *Index) WalkUsed(fn func(key string, r Result, lastUsed time.Time) error) error {
	ents, err := os.ReadDir(ix.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		key := "sha256:" + strings.TrimSuffix(name, ".json")
		p := filepath.Join(ix.dir, name)
		fi, err := os.Stat(p)
		if err != nil {
			continue // deleted meanwhile
		}
		r, ok := ix.read(p)
		if !ok {
			continue
		}
		if err := fn(key, r, fi.ModTime()); err != nil {
			return err
		}
	}
	return nil
}

// Delete forgets key.
func (ix *Index) Delete(key string) error {
	p, err := ix.file(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
