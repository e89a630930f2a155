package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/moby/api/types/events"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/internal/atomicfile"
)

// ErrNotFound is wrapped by errors for images that are not in the store.
var ErrNotFound = errors.New("image not found")

// blobJobs bounds how many blobs are copied or downloaded at once.
const blobJobs = 4

// Store maps image names to manifests held in a content store.
type Store struct {
	root    string
	content *cache.Store
	mu      sync.Mutex // serializes index updates within this process

	// backoff is the retry policy for registry requests; tests shorten it.
	backoff remote.Backoff
	// transport reaches registries with docker's TLS rules (Transport).
	transport http.RoundTripper
}

// index is the on-disk form of root/index.json.
type index struct {
	// Refs maps canonical names ("docker.io/library/app:latest") to
	// manifest digests.
	Refs map[string]string `json:"refs"`
	// Images holds every manifest the store knows, tagged or not.
	Images map[string]record `json:"images"`
	// Indexes holds every image index (multi-platform image) by digest.
	// Its children are in Images; unnamed ones are listed only with it.
	Indexes map[string]indexRecord `json:"indexes,omitempty"`
}

// record caches what List shows so listing never reads content.
type record struct {
	Created time.Time `json:"created"`
	Size    int64     `json:"size"`
	// Config is the config digest: docker's image ID, which build -q,
	// --iidfile, import and inspect print and every command accepts.
	Config string `json:"config,omitempty"`
}

// Open creates (if needed) and opens the image store at root, whose blobs
// live in content.
func Open(root string, content *cache.Store) (*Store, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("opening image store %s: %w", root, err)
	}
	return &Store{
		root:      root,
		content:   content,
		backoff:   remote.Backoff{Duration: time.Second, Factor: 3, Jitter: 0.1, Steps: 3},
		transport: Transport(nil),
	}, nil
}

// SetInsecure names the --insecure-registry hosts: the store then speaks
// to them over TLS without verification, or plain http (Transport).
func (s *Store) SetInsecure(hosts []string) { s.transport = Transport(hosts) }

func (s *Store) indexPath() string { return filepath.Join(s.root, "index.json") }

// read loads the index without locking: writers replace it by rename, so a
// reader always sees one complete version.
func (s *Store) read() (*index, error) {
	idx := &index{Refs: map[string]string{}, Images: map[string]record{}, Indexes: map[string]indexRecord{}}
	b, err := os.ReadFile(s.indexPath())
	if errors.Is(err, fs.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading image index: %w", err)
	}
	if err := json.Unmarshal(b, idx); err != nil {
		return nil, fmt.Errorf("reading image index %s: %w", s.indexPath(), err)
	}
	if idx.Refs == nil {
		idx.Refs = map[string]string{}
	}
	if idx.Images == nil {
		idx.Images = map[string]record{}
	}
	if idx.Indexes == nil {
		idx.Indexes = map[string]indexRecord{}
	}
	// Index files from before records kept the config digest: read it
	// from the manifest (the next write keeps it).
	for d, rec := range idx.Images {
		if rec.Config == "" {
			rec.Config = s.configOf(d)
			idx.Images[d] = rec
		}
	}
	return idx, nil
}

// configOf reads the config digest from stored manifest d; "" if it
// cannot be read (then the image is found by its manifest digest only).
func (s *Store) configOf(d string) string {
	h, err := v1.NewHash(d)
	if err != nil {
		return ""
	}
	rc, err := s.content.Open(h)
	if err != nil {
		return ""
	}
	defer rc.Close()
	m, err := v1.ParseManifest(io.LimitReader(rc, maxMetadata))
	if err != nil {
		return ""
	}
	return m.Config.Digest.String()
}

// update runs fn on the current index under the store-wide file lock and
// writes the result back atomically.
func (s *Store) update(fn func(*index) error) error {
	return s.locked(func() error {
		idx, err := s.read()
		if err != nil {
			return err
		}
		if err := fn(idx); err != nil {
			return err
		}
		return s.write(idx)
	})
}

// locked runs fn holding the store-wide lock: s.mu within this process,
// an flock on root/lock across processes.
func (s *Store) locked(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	lf, err := os.OpenFile(filepath.Join(s.root, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("locking image store: %w", err)
	}
	defer lf.Close() // closing releases the flock
	for {
		err = unix.Flock(int(lf.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("locking image store: %w", err)
	}
	return fn()
}

func (s *Store) write(idx *index) error {
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return fmt.Errorf("writing image index: %w", err)
	}
	if err := replaceFile(s.indexPath(), b); err != nil {
		return fmt.Errorf("writing image index: %w", err)
	}
	return nil
}

// replaceFile writes b to path atomically and durably: the index is
// the only record of what the store holds.
func replaceFile(path string, b []byte) error {
	return atomicfile.WriteFile(path, b, atomicfile.Options{Perm: 0o600, Sync: true})
}

// Tag stores img's blobs in content and points name at its manifest. An
// image that name pointed at before stays in the store, untagged.
func (s *Store) Tag(ctx context.Context, ref string, img v1.Image) error {
	release, err := s.content.HoldGC(ctx)
	if err != nil {
		return err
	}
	defer release() // blobs stay unreferenced until the index names them
	canonical, err := normalize(ref)
	if err != nil {
		return err
	}
	d, rec, err := s.storeBlobs(ctx, img)
	if err != nil {
		return fmt.Errorf("tagging %s: %w", ref, err)
	}
	err = s.update(func(idx *index) error {
		idx.Refs[canonical] = d.String()
		idx.Images[d.String()] = rec
		return nil
	})
	if err == nil {
		s.event(events.ActionTag, rec.Config, map[string]string{"name": familiar(canonical)})
	}
	return err
}

// Keep records an image pulled as ref the way docker pull and docker run
// do: under ref's name when ref has a tag, untagged (listed with its
// digest) when ref names a digest.
func (s *Store) Keep(ctx context.Context, ref string, img v1.Image) error {
	r, err := ParseReference(ref)
	if err != nil {
		return err
	}
	if _, ok := r.(name.Tag); ok {
		return s.Tag(ctx, ref, img)
	}
	return s.Store(ctx, img)
}

// Store stores img without a name; List shows it as "<none>:<none>" and Get
// finds it by digest.
func (s *Store) Store(ctx context.Context, img v1.Image) error {
	release, err := s.content.HoldGC(ctx)
	if err != nil {
		return err
	}
	defer release() // blobs stay unreferenced until the index names them
	d, rec, err := s.storeBlobs(ctx, img)
	if err != nil {
		return fmt.Errorf("storing image: %w", err)
	}
	return s.update(func(idx *index) error {
		idx.Images[d.String()] = rec
		return nil
	})
}

// storeBlobs copies img's layers, config and manifest into content, in
// that order, so a stored manifest always has all its blobs present.
func (s *Store) storeBlobs(ctx context.Context, img v1.Image) (v1.Hash, record, error) {
	return s.storeBlobsOf(ctx, img, cache.LayerTypes)
}

// storeBlobsOf is storeBlobs for a manifest whose layers are of layerTypes.
func (s *Store) storeBlobsOf(ctx context.Context, img v1.Image, layerTypes []types.MediaType) (v1.Hash, record, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return v1.Hash{}, record{}, fmt.Errorf("reading manifest: %w", err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Hash{}, record{}, fmt.Errorf("reading manifest media type: %w", err)
	}
	if !mt.IsImage() {
		return v1.Hash{}, record{}, fmt.Errorf("unsupported manifest media type %q", mt)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return v1.Hash{}, record{}, fmt.Errorf("parsing manifest: %w", err)
	}
	if err := cache.CheckManifestLayers(m, layerTypes, cache.ImageConfigTypes...); err != nil {
		return v1.Hash{}, record{}, fmt.Errorf("manifest: %w", err)
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return v1.Hash{}, record{}, fmt.Errorf("reading config: %w", err)
	}
	if got := digestOf(rawCfg); got != m.Config.Digest {
		return v1.Hash{}, record{}, fmt.Errorf("config has digest %s, manifest says %s: %w", got, m.Config.Digest, cache.ErrDigestMismatch)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawCfg))
	if err != nil {
		return v1.Hash{}, record{}, fmt.Errorf("parsing config %s: %w", m.Config.Digest, err)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(blobJobs)
	for _, desc := range m.Layers {
		if s.content.Has(desc.Digest) {
			continue
		}
		g.Go(func() error {
			l, err := img.LayerByDigest(desc.Digest)
			if err != nil {
				return fmt.Errorf("reading layer %s: %w", desc.Digest, err)
			}
			rc, err := l.Compressed()
			if err != nil {
				return fmt.Errorf("reading layer %s: %w", desc.Digest, err)
			}
			defer rc.Close()
			_, _, err = s.content.Put(gctx, rc, desc.Digest, desc.Size)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return v1.Hash{}, record{}, err
	}
	d, err := s.putMetadata(ctx, rawCfg, raw)
	if err != nil {
		return v1.Hash{}, record{}, err
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	return d, record{Created: cfg.Created.Time, Size: size, Config: m.Config.Digest.String()}, nil
}

// Get returns the stored image named ref: a name ("app", "app:1"), a name
// with digest ("app@sha256:..."), a manifest digest ("sha256:...") or a
// unique prefix of one ("sha256:abc", "abc123"). For an index it is the
// image for the host's platform (DefaultPlatform).
func (s *Store) Get(ctx context.Context, ref string) (v1.Image, error) {
	idx, d, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	if _, ok := idx.Indexes[d.String()]; ok {
		img, err := s.pick(ctx, d, DefaultPlatform(), 0)
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", ref, err)
		}
		return img, nil
	}
	return s.load(ctx, d)
}

// lookup reads the index and resolves ref in it.
func (s *Store) lookup(ref string) (*index, v1.Hash, error) {
	idx, err := s.read()
	if err != nil {
		return nil, v1.Hash{}, err
	}
	d, err := resolve(idx, ref)
	return idx, d, err
}

func resolve(idx *index, ref string) (v1.Hash, error) {
	if p, ok := strings.CutPrefix(ref, "sha256:"); ok {
		return byPrefix(idx, ref, p)
	}
	if r, err := ParseReference(ref); err == nil {
		switch r := r.(type) {
		case name.Tag:
			if d, ok := idx.Refs[canonicalRepo(r.Context())+":"+r.TagStr()]; ok {
				return v1.NewHash(d)
			}
		case name.Digest:
			_, img := idx.Images[r.DigestStr()]
			if _, ix := idx.Indexes[r.DigestStr()]; img || ix {
				return v1.NewHash(r.DigestStr())
			}
		}
	}
	// Like docker, a bare hex string that is not a name is an ID prefix.
	if isHexPrefix(ref) {
		return byPrefix(idx, ref, ref)
	}
	return v1.Hash{}, fmt.Errorf("image %q: %w", ref, ErrNotFound)
}

// byPrefix finds the image whose manifest digest or image ID (config
// digest) starts with prefix. Manifests that share one config (the same
// image recompressed) are one image ID: the newest of them is taken.
func byPrefix(idx *index, ref, prefix string) (v1.Hash, error) {
	if !isHexPrefix(prefix) {
		return v1.Hash{}, fmt.Errorf("image %q: %w", ref, ErrNotFound)
	}
	want := "sha256:" + prefix
	var manifests, byID []string
	configs := map[string]bool{}
	for d := range idx.Indexes {
		if strings.HasPrefix(d, want) {
			manifests = append(manifests, d)
		}
	}
	for d, rec := range idx.Images {
		switch {
		case strings.HasPrefix(d, want):
			manifests = append(manifests, d)
		case rec.Config != "" && strings.HasPrefix(rec.Config, want):
			byID = append(byID, d)
			configs[rec.Config] = true
		}
	}
	switch {
	case len(manifests) == 1 && len(byID) == 0:
		return v1.NewHash(manifests[0])
	case len(manifests) == 0 && len(configs) == 1:
		newest := byID[0]
		for _, d := range byID[1:] {
			a, b := idx.Images[d].Created, idx.Images[newest].Created
			if a.After(b) || a.Equal(b) && d < newest {
				newest = d
			}
		}
		return v1.NewHash(newest)
	case len(manifests) == 0 && len(byID) == 0:
		return v1.Hash{}, fmt.Errorf("image %q: %w", ref, ErrNotFound)
	}
	return v1.Hash{}, fmt.Errorf("image %q: ambiguous digest prefix matches %d images", ref, len(manifests)+len(configs))
}

// Untag removes a name. When no name is left on its image, the image
// leaves the list too (its blobs stay in content). ref may also be a
// manifest digest (or unique prefix), which drops the image and all its
// names.
func (s *Store) Untag(ctx context.Context, ref string) error {
	release, err := s.content.HoldGC(ctx)
	if err != nil {
		return err
	}
	defer release() // a prune would take the index's temp file
	err = s.update(func(idx *index) error {
		if canonical, err := normalize(ref); err == nil {
			if d, ok := idx.Refs[canonical]; ok {
				delete(idx.Refs, canonical)
				if len(namesOf(idx, d)) == 0 {
					idx.drop(d)
				}
				return nil
			}
		}
		d, err := resolve(idx, ref)
		if err != nil {
			return err
		}
		for _, n := range namesOf(idx, d.String()) {
			delete(idx.Refs, n)
		}
		idx.drop(d.String())
		return nil
	})
	if err == nil {
		s.event(events.ActionUnTag, ref, nil)
	}
	return err
}

func namesOf(idx *index, d string) []string {
	var names []string
	for n, nd := range idx.Refs {
		if nd == d {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Entry is one image in List.
type Entry struct {
	Names  []string // familiar names ("app:latest"), sorted; empty if untagged
	Digest v1.Hash  // manifest digest
	// ID is the config digest, docker's image ID; zero if unreadable.
	ID      v1.Hash
	Created time.Time
	Size    int64 // manifest's config and compressed layer sizes
	// Platforms are an index's platforms (os/arch[/variant]); nil for a
	// single image.
	Platforms []string
}

// IsIndex reports whether e is an image index, a multi-platform image.
func (e Entry) IsIndex() bool { return e.Platforms != nil }

// ImageID is the ID docker shows for e: its config digest, or its manifest
// digest when the config could not be read.
func (e Entry) ImageID() v1.Hash {
	if e.ID.Hex == "" {
		return e.Digest
	}
	return e.ID
}

// List returns every stored image, newest first.
func (s *Store) List(ctx context.Context) ([]Entry, error) {
	idx, err := s.read()
	if err != nil {
		return nil, err
	}
	byDigest := map[string][]string{}
	for n, d := range idx.Refs {
		byDigest[d] = append(byDigest[d], familiar(n))
	}
	list := make([]Entry, 0, len(idx.Images)+len(idx.Indexes))
	add := func(ds string, e Entry) error {
		if byDigest[ds] == nil && idx.isChild(ds) {
			return nil // listed with its index
		}
		d, err := v1.NewHash(ds)
		if err != nil {
			return fmt.Errorf("image index: %w", err)
		}
		e.Names, e.Digest = byDigest[ds], d
		sort.Strings(e.Names)
		list = append(list, e)
		return nil
	}
	for ds, rec := range idx.Images {
		id, _ := v1.NewHash(rec.Config)
		if err := add(ds, Entry{ID: id, Created: rec.Created, Size: rec.Size}); err != nil {
			return nil, err
		}
	}
	for ds, rec := range idx.Indexes {
		// Like docker's containerd store, an index's ID is its digest.
		id, _ := v1.NewHash(ds)
		if err := add(ds, Entry{ID: id, Created: rec.Created, Size: rec.Size, Platforms: append([]string{}, rec.Platforms...)}); err != nil {
			return nil, err
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].Created.Equal(list[j].Created) {
			return list[i].Created.After(list[j].Created)
		}
		return list[i].Digest.String() < list[j].Digest.String()
	})
	return list, nil
}

// identity is img's manifest digest and its image ID (config digest).
func identity(img v1.Image) (digest, id v1.Hash, err error) {
	if digest, err = img.Digest(); err != nil {
		return digest, id, err
	}
	id, err = img.ConfigName()
	return digest, id, err
}

func digestOf(b []byte) v1.Hash {
	h := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h[:])}
}
