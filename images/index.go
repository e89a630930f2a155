package images

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lade-build/lade/cache"
)

// ErrNotIndex is GetIndex's error for a name that points at a single
// image; it is an ErrNotFound too.
var ErrNotIndex = fmt.Errorf("%w: a single-platform image, not an index", ErrNotFound)

// maxIndexDepth bounds indexes nested in indexes (skopeo and crane
// write one level).
const maxIndexDepth = 4

// indexRecord is what the store keeps of an image index, a
// multi-platform image, so listing never reads content.
type indexRecord struct {
	Created time.Time `json:"created"`
	Size    int64     `json:"size"` // the children's sizes, summed
	// Manifests are the digests of its children (images, nested indexes).
	Manifests []string `json:"manifests"`
	// Platforms are its images' platforms, os/arch[/variant], in order.
	Platforms []string `json:"platforms,omitempty"`
}

// stored collects the records of an index and its children being stored.
type stored struct {
	images  map[string]record
	indexes map[string]indexRecord
}

// TagIndex stores every child manifest of idx with its blobs, nested
// indexes too, then idx itself, and points ref at the index. Children are
// not listed on their own; Get of ref picks the host's platform.
func (s *Store) TagIndex(ctx context.Context, ref string, idx v1.ImageIndex) error {
	canonical, err := normalize(ref)
	if err != nil {
		return err
	}
	_, err = s.keepIndex(ctx, idx, canonical)
	if err != nil {
		return fmt.Errorf("tagging %s: %w", ref, err)
	}
	return nil
}

// keepIndex stores idx as TagIndex does under the canonical names given
// (none: untagged) and returns its digest.
func (s *Store) keepIndex(ctx context.Context, idx v1.ImageIndex, names ...string) (v1.Hash, error) {
	release, err := s.content.HoldGC(ctx)
	if err != nil {
		return v1.Hash{}, err
	}
	defer release() // blobs stay unreferenced until the index names them
	st := stored{images: map[string]record{}, indexes: map[string]indexRecord{}}
	d, err := s.storeIndex(ctx, idx, st, 0)
	if err != nil {
		return v1.Hash{}, err
	}
	return d, s.update(func(ix *index) error {
		for k, v := range st.images {
			ix.Images[k] = v
		}
		for k, v := range st.indexes {
			ix.Indexes[k] = v
		}
		for _, n := range names {
			ix.Refs[n] = d.String()
		}
		return nil
	})
}

// storeIndex stores idx's children, then idx's raw manifest last, and
// records them all in st.
func (s *Store) storeIndex(ctx context.Context, idx v1.ImageIndex, st stored, depth int) (v1.Hash, error) {
	if depth > maxIndexDepth {
		return v1.Hash{}, fmt.Errorf("indexes nested more than %d deep", maxIndexDepth)
	}
	raw, im, err := checkedIndex(idx)
	if err != nil {
		return v1.Hash{}, err
	}
	var rec indexRecord
	for _, desc := range im.Manifests {
		d, created, size, err := s.storeChild(ctx, idx, desc, st, depth)
		if err != nil {
			return v1.Hash{}, err
		}
		if d != desc.Digest {
			return v1.Hash{}, fmt.Errorf("index entry %s stored as %s: %w", desc.Digest, d, cache.ErrDigestMismatch)
		}
		rec.Manifests = append(rec.Manifests, d.String())
		rec.Size += size
		if created.After(rec.Created) {
			rec.Created = created
		}
		if desc.Platform != nil && desc.MediaType.IsImage() {
			rec.Platforms = append(rec.Platforms, PlatformString(*desc.Platform))
		}
	}
	d, err := s.content.PutBytes(ctx, raw)
	if err != nil {
		return v1.Hash{}, err
	}
	st.indexes[d.String()] = rec
	return d, nil
}

// storeChild stores one entry of idx and returns its digest, creation
// time and size.
func (s *Store) storeChild(ctx context.Context, idx v1.ImageIndex, desc v1.Descriptor, st stored, depth int) (v1.Hash, time.Time, int64, error) {
	switch {
	case desc.MediaType.IsImage():
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return v1.Hash{}, time.Time{}, 0, fmt.Errorf("reading image %s: %w", desc.Digest, err)
		}
		layers := cache.LayerTypes
		if isAttestation(desc) {
			layers = cache.AttestationLayerTypes // kept, never unpacked
		}
		d, rec, err := s.storeBlobsOf(ctx, img, layers)
		if err != nil {
			return v1.Hash{}, time.Time{}, 0, fmt.Errorf("image %s: %w", desc.Digest, err)
		}
		st.images[d.String()] = rec
		return d, rec.Created, rec.Size, nil
	case desc.MediaType.IsIndex():
		child, err := idx.ImageIndex(desc.Digest)
		if err != nil {
			return v1.Hash{}, time.Time{}, 0, fmt.Errorf("reading index %s: %w", desc.Digest, err)
		}
		d, err := s.storeIndex(ctx, child, st, depth+1)
		if err != nil {
			return v1.Hash{}, time.Time{}, 0, err
		}
		rec := st.indexes[d.String()]
		return d, rec.Created, rec.Size, nil
	}
	return v1.Hash{}, time.Time{}, 0, fmt.Errorf("index entry %s: unsupported media type %q", desc.Digest, desc.MediaType)
}

// The annotation of BuildKit's attestation manifests in an index.
const (
	attestationRefType  = "vnd.docker.reference.type"
	attestationManifest = "attestation-manifest"
)

// isAttestation: an entry marked as an attestation manifest, for no
// platform a run or a build could pick, so its in-toto layers are never
// taken for a filesystem.
func isAttestation(d v1.Descriptor) bool {
	p := d.Platform
	return d.Annotations[attestationRefType] == attestationManifest &&
		p != nil && p.OS == "unknown" && p.Architecture == "unknown"
}

// checkedIndex is idx's raw manifest, parsed and checked.
func checkedIndex(idx v1.ImageIndex) ([]byte, *v1.IndexManifest, error) {
	mt, err := idx.MediaType()
	if err != nil {
		return nil, nil, fmt.Errorf("reading index media type: %w", err)
	}
	if !mt.IsIndex() {
		return nil, nil, fmt.Errorf("unsupported index media type %q", mt)
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return nil, nil, fmt.Errorf("reading index: %w", err)
	}
	if len(raw) > maxMetadata {
		return nil, nil, fmt.Errorf("index larger than %d bytes", maxMetadata)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("parsing index: %w", err)
	}
	if err := cache.CheckIndex(im); err != nil {
		return nil, nil, fmt.Errorf("index: %w", err)
	}
	return raw, im, nil
}

// GetIndex returns the stored index ref names; ErrNotIndex when ref
// names a single image.
func (s *Store) GetIndex(ctx context.Context, ref string) (v1.ImageIndex, error) {
	ix, d, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	if _, ok := ix.Indexes[d.String()]; !ok {
		return nil, fmt.Errorf("image %q: %w", ref, ErrNotIndex)
	}
	return s.loadIndex(ctx, d)
}

// GetPlatform returns the image for platform p that ref names: from an
// index, the entry matching p by the OCI rules (Normalize, PlatformMatches);
// a single image only if its config says p. Anything else is ErrNotFound.
func (s *Store) GetPlatform(ctx context.Context, ref string, p v1.Platform) (v1.Image, error) {
	ix, d, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	if _, ok := ix.Indexes[d.String()]; ok {
		img, err := s.pick(ctx, d, p, 0)
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", ref, err)
		}
		return img, nil
	}
	img, err := s.load(ctx, d)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	have := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	if have.Architecture != "" && !PlatformMatches(have, p) {
		return nil, fmt.Errorf("image %q is %s, not %s: %w", ref, PlatformString(Normalize(have)), PlatformString(p), ErrNotFound)
	}
	return img, nil
}

// pick returns the image for want in stored index d, looking into nested
// indexes when no image of d itself matches.
func (s *Store) pick(ctx context.Context, d v1.Hash, want v1.Platform, depth int) (v1.Image, error) {
	si, err := s.loadIndex(ctx, d)
	if err != nil {
		return nil, err
	}
	var ps []*v1.Platform
	var have []string
	for _, m := range si.m.Manifests {
		if !m.MediaType.IsImage() || m.Platform == nil {
			ps = append(ps, nil)
			continue
		}
		ps = append(ps, m.Platform)
		have = append(have, PlatformString(*m.Platform))
	}
	if i := bestMatch(ps, want); i >= 0 {
		return si.Image(si.m.Manifests[i].Digest)
	}
	for _, m := range si.m.Manifests {
		if m.MediaType.IsIndex() && depth < maxIndexDepth {
			if img, err := s.pick(ctx, m.Digest, want, depth+1); err == nil {
				return img, nil
			}
		}
	}
	return nil, fmt.Errorf("no image for %s in index %s (has %s): %w", PlatformString(want), d, joinOrNone(have), ErrNotFound)
}

func joinOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// loadIndex is the store-backed index for stored manifest d.
func (s *Store) loadIndex(ctx context.Context, d v1.Hash) (*storedIndex, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raw, err := s.readBlob(d, "index")
	if err != nil {
		return nil, err
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing index %s: %w", d, err)
	}
	mt := im.MediaType
	if mt == "" {
		mt = types.OCIImageIndex
	}
	return &storedIndex{s: s, ctx: ctx, raw: raw, mt: mt, m: im, digest: d}, nil
}

// storedIndex serves a stored index as it was stored, so its digest never
// changes; its children load from the store.
type storedIndex struct {
	s      *Store
	ctx    context.Context // for the children's loads
	raw    []byte
	mt     types.MediaType
	m      *v1.IndexManifest
	digest v1.Hash
}

func (i *storedIndex) MediaType() (types.MediaType, error)       { return i.mt, nil }
func (i *storedIndex) Digest() (v1.Hash, error)                  { return i.digest, nil }
func (i *storedIndex) Size() (int64, error)                      { return int64(len(i.raw)), nil }
func (i *storedIndex) RawManifest() ([]byte, error)              { return i.raw, nil }
func (i *storedIndex) IndexManifest() (*v1.IndexManifest, error) { return i.m.DeepCopy(), nil }

func (i *storedIndex) Image(h v1.Hash) (v1.Image, error) {
	if err := i.child(h); err != nil {
		return nil, err
	}
	return i.s.load(i.ctx, h)
}

func (i *storedIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	if err := i.child(h); err != nil {
		return nil, err
	}
	return i.s.loadIndex(i.ctx, h)
}

// child checks that h is an entry of the index and is stored.
func (i *storedIndex) child(h v1.Hash) error {
	if !slices.ContainsFunc(i.m.Manifests, func(d v1.Descriptor) bool { return d.Digest == h }) {
		return fmt.Errorf("manifest %s is not in index %s: %w", h, i.digest, ErrNotFound)
	}
	if !i.s.content.Has(h) {
		return fmt.Errorf("manifest %s of index %s is not stored: %w", h, i.digest, ErrNotFound)
	}
	return nil
}

// isChild reports whether d is an entry of some stored index.
func (ix *index) isChild(d string) bool {
	for _, rec := range ix.Indexes {
		if slices.Contains(rec.Manifests, d) {
			return true
		}
	}
	return false
}

// drop removes d from the store's lists and, when it is an index, the
// children no name and no other index holds. Blobs stay for GC.
func (ix *index) drop(d string) {
	if ix.isChild(d) {
		return // still listed with its index
	}
	rec, isIndex := ix.Indexes[d]
	delete(ix.Images, d)
	delete(ix.Indexes, d)
	if !isIndex {
		return
	}
	for _, c := range rec.Manifests {
		if len(namesOf(ix, c)) == 0 && !ix.isChild(c) {
			ix.drop(c)
		}
	}
}

// Manifests lists every stored manifest GC must keep: images (children of
// indexes included) and indexes.
func (s *Store) Manifests(ctx context.Context) (imgs, indexes []v1.Hash, err error) {
	ix, err := s.read()
	if err != nil {
		return nil, nil, err
	}
	for d := range ix.Images {
		h, err := v1.NewHash(d)
		if err != nil {
			return nil, nil, fmt.Errorf("image index: %w", err)
		}
		imgs = append(imgs, h)
	}
	for d := range ix.Indexes {
		h, err := v1.NewHash(d)
		if err != nil {
			return nil, nil, fmt.Errorf("image index: %w", err)
		}
		indexes = append(indexes, h)
	}
	return imgs, indexes, nil
}

// IndexEntry is one entry of a stored index, as images --tree and
// inspect show it.
type IndexEntry struct {
	ID         string        `json:"ID"` // the manifest digest
	Descriptor v1.Descriptor `json:"Descriptor"`
	// Available says its manifest and blobs are stored (a pull of one
	// platform stores only that one's).
	Available bool   `json:"Available"`
	Kind      string `json:"Kind"` // "image" or "index"
	Size      int64  `json:"Size"` // compressed, as stored; 0 when unavailable
}

// IndexEntries lists the entries of the stored index d.
func (s *Store) IndexEntries(ctx context.Context, d v1.Hash) ([]IndexEntry, error) {
	ix, err := s.read()
	if err != nil {
		return nil, err
	}
	si, err := s.loadIndex(ctx, d)
	if err != nil {
		return nil, err
	}
	var out []IndexEntry
	for _, m := range si.m.Manifests {
		e := IndexEntry{ID: m.Digest.String(), Descriptor: m, Kind: "image"}
		if rec, ok := ix.Images[m.Digest.String()]; ok {
			e.Available, e.Size = s.content.Has(m.Digest), rec.Size
		}
		if rec, ok := ix.Indexes[m.Digest.String()]; ok {
			e.Available, e.Size, e.Kind = true, rec.Size, "index"
		}
		out = append(out, e)
	}
	return out, nil
}
