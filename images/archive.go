package images

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/moby/api/types/events"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/exporter"
)

// Save writes the images named by refs to w as one docker save archive.
// An image given by name is saved under that name; one given by ID or
// digest is saved without names, as docker does. Images given twice are
// written once, with all their names. With platform set, a multi-platform
// image is saved as its image for that platform (docker save --platform);
// without, one multi-platform image is saved alone as an OCI archive of
// its index (no manifest.json: docker's classic store cannot load it).
func (s *Store) Save(ctx context.Context, w io.Writer, refs []string, platform *v1.Platform) error {
	if err := s.save(ctx, w, refs, platform); err != nil {
		return err
	}
	for _, ref := range refs {
		s.event(events.ActionSave, ref, nil)
	}
	return nil
}

func (s *Store) save(ctx context.Context, w io.Writer, refs []string, platform *v1.Platform) error {
	if platform == nil {
		if done, err := s.saveIndex(ctx, w, refs); done || err != nil {
			return err
		}
	}
	var list []exporter.NamedImage
	pos := map[v1.Hash]int{}
	for _, ref := range refs {
		img, err := s.Get(ctx, ref)
		if platform != nil {
			img, err = s.GetPlatform(ctx, ref, *platform)
		}
		if err != nil {
			return err
		}
		d, err := img.Digest()
		if err != nil {
			return err
		}
		i, ok := pos[d]
		if !ok {
			i = len(list)
			pos[d] = i
			list = append(list, exporter.NamedImage{Image: img})
		}
		if n, ok := savedName(ref); ok {
			list[i].Names = append(list[i].Names, n)
		}
	}
	if err := exporter.WriteDockerMulti(ctx, w, list); err != nil {
		return fmt.Errorf("saving images: %w", err)
	}
	return nil
}

// saveIndex saves refs as an OCI archive when they name one index (done),
// refuses a mix of an index with other images, and leaves images alone.
func (s *Store) saveIndex(ctx context.Context, w io.Writer, refs []string) (done bool, err error) {
	var idx v1.ImageIndex
	for _, ref := range refs {
		ix, err := s.GetIndex(ctx, ref)
		switch {
		case err == nil && len(refs) == 1:
			idx = ix
		case err == nil:
			return true, fmt.Errorf("%s is a multi-platform image: save it alone, or pick one platform with --platform", ref)
		case !errors.Is(err, ErrNotFound): // ErrNotIndex is one too
			return true, err
		}
	}
	if idx == nil {
		return false, nil
	}
	var names []string
	if n, ok := savedName(refs[0]); ok {
		names = append(names, n)
	}
	if err := exporter.WriteOCIIndex(ctx, w, idx, names); err != nil {
		return true, fmt.Errorf("saving %s: %w", refs[0], err)
	}
	return true, nil
}

// savedName is the name an image given as ref is saved under, if any.
func savedName(ref string) (string, bool) {
	if strings.HasPrefix(ref, "sha256:") || strings.Contains(ref, "@") {
		return "", false
	}
	if _, err := ParseTag(ref); err != nil {
		return "", false // an ID prefix
	}
	if isHexPrefix(ref) && len(ref) >= 12 {
		return "", false // docker treats a long bare hex string as an ID too
	}
	return ref, true
}

// Loaded is one image that Load stored.
type Loaded struct {
	Names  []string // as given in the archive; empty if untagged
	ID     v1.Hash  // config digest (docker's image ID); an index's digest
	Digest v1.Hash  // manifest digest
}

// maxArchiveMeta bounds the metadata files read from an archive.
const maxArchiveMeta = 8 << 20

// Load stores the images of a docker save archive or an OCI layout tar,
// plain or gzip, zstd, bzip2 or xz compressed. A docker archive is read
// through its manifest.json; where its index.json holds the same image
// with every blob present, that exact manifest is kept, so the digest
// survives a save/load round trip. Names come from RepoTags (docker) or
// the name annotations (OCI). Nothing is tagged unless every image loads.
func (s *Store) Load(ctx context.Context, r io.Reader) ([]Loaded, error) {
	release, err := s.content.HoldGC(ctx)
	if err != nil {
		return nil, err
	}
	defer release() // blobs stay unreferenced until the index names them
	out, err := s.loadArchive(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("loading archive: %w", err)
	}
	for _, l := range out {
		s.event(events.ActionLoad, l.ID.String(), nil)
	}
	return out, nil
}

func (s *Store) loadArchive(ctx context.Context, r io.Reader) ([]Loaded, error) {
	tr, err := plainTarball(ctx, r)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	dir, err := os.MkdirTemp(s.root, "load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := untar(ctx, tr, dir); err != nil {
		return nil, err
	}
	meta, err := readMeta(filepath.Join(dir, "manifest.json"))
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(filepath.Join(dir, "index.json")); serr != nil {
			return nil, errors.New("neither manifest.json nor index.json found: not a docker or OCI archive")
		}
		return s.loadOCI(ctx, dir)
	}
	if err != nil {
		return nil, err
	}
	var entries []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(meta, &entries); err != nil {
		return nil, fmt.Errorf("parsing manifest.json: %w", err)
	}
	if len(entries) == 0 {
		return nil, errors.New("manifest.json lists no images")
	}
	known := indexedManifests(dir)
	var imgs []v1.Image
	for _, e := range entries {
		img, err := s.loadDockerEntry(ctx, dir, e.Config, e.Layers, known)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	var out []Loaded
	for i, e := range entries {
		l, err := s.storeLoaded(ctx, imgs[i], e.RepoTags)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func (s *Store) loadOCI(ctx context.Context, dir string) ([]Loaded, error) {
	return s.LoadLayout(ctx, dir, "")
}

func (s *Store) storeLoaded(ctx context.Context, img v1.Image, names []string) (Loaded, error) {
	l := Loaded{Names: names}
	var err error
	if l.Digest, l.ID, err = identity(img); err != nil {
		return l, err
	}
	if len(names) == 0 {
		return l, s.Store(ctx, img)
	}
	for _, n := range names {
		if err := s.Tag(ctx, n, img); err != nil {
			return l, err
		}
	}
	return l, nil
}

// indexedManifests reads the manifests named by an archive's index.json
// (docker 25+ and lade write one), keyed by config digest.
func indexedManifests(dir string) map[v1.Hash][]byte {
	out := map[v1.Hash][]byte{}
	raw, err := readMeta(filepath.Join(dir, "index.json"))
	if err != nil {
		return out
	}
	var idx v1.IndexManifest
	if json.Unmarshal(raw, &idx) != nil {
		return out
	}
	for _, d := range idx.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		mraw, err := readMeta(blobPath(dir, d.Digest))
		if err != nil || digestOf(mraw) != d.Digest {
			continue
		}
		m, err := v1.ParseManifest(bytes.NewReader(mraw))
		if err != nil || cache.CheckManifest(m, cache.ImageConfigTypes...) != nil {
			continue // rebuilt from manifest.json instead, and checked there
		}
		out[m.Config.Digest] = mraw
	}
	return out
}

func blobPath(dir string, d v1.Hash) string {
	return filepath.Join(dir, "blobs", d.Algorithm, d.Hex)
}

// loadDockerEntry stores one manifest.json image's blobs and returns it.
func (s *Store) loadDockerEntry(ctx context.Context, dir, cfgPath string, layers []string, known map[v1.Hash][]byte) (v1.Image, error) {
	rawCfg, err := readMeta(archivePath(dir, cfgPath))
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", cfgPath, err)
	}
	cfgDigest := digestOf(rawCfg)
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawCfg))
	if err != nil {
		return nil, fmt.Errorf("parsing config %s: %w", cfgPath, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(layers) {
		return nil, fmt.Errorf("config %s has %d diff ids for %d layers", cfgPath, len(cfg.RootFS.DiffIDs), len(layers))
	}
	if mraw, ok := known[cfgDigest]; ok {
		if img, err := s.loadExact(ctx, dir, mraw, rawCfg); err == nil {
			return img, nil
		}
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(rawCfg)), Digest: cfgDigest},
	}
	for i, lp := range layers {
		desc, err := s.loadLayer(ctx, archivePath(dir, lp), cfg.RootFS.DiffIDs[i])
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", lp, err)
		}
		m.Layers = append(m.Layers, desc)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return s.putAndLoad(ctx, rawCfg, raw)
}

// loadExact stores the archive's own manifest when all its blobs verify.
func (s *Store) loadExact(ctx context.Context, dir string, mraw, rawCfg []byte) (v1.Image, error) {
	m, err := v1.ParseManifest(bytes.NewReader(mraw))
	if err != nil {
		return nil, err
	}
	if err := cache.CheckManifest(m, cache.ImageConfigTypes...); err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		if err := s.putFile(ctx, blobPath(dir, l.Digest), l.Digest, l.Size); err != nil {
			return nil, err
		}
	}
	return s.putAndLoad(ctx, rawCfg, mraw)
}

func (s *Store) putFile(ctx context.Context, p string, d v1.Hash, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, _, err = s.content.Put(ctx, f, d, size)
	return err
}

// loadLayer stores a docker archive layer: compressed blobs as they are,
// uncompressed tars (docker's own layer.tar) gzipped, as a push would.
// Either way its DiffID must match the config's.
func (s *Store) loadLayer(ctx context.Context, p string, diffID v1.Hash) (v1.Descriptor, error) {
	f, err := os.Open(p)
	if err != nil {
		return v1.Descriptor{}, err
	}
	defer f.Close()
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return v1.Descriptor{}, err
	}
	var mt types.MediaType
	switch {
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		mt = types.OCILayer
	case n == 4 && bytes.Equal(magic[:], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		mt = types.OCILayerZStd
	default:
		info, err := s.content.WriteLayer(ctx, f, cache.Gzip)
		if err != nil {
			return v1.Descriptor{}, err
		}
		if info.DiffID != diffID {
			return v1.Descriptor{}, fmt.Errorf("content has diff id %s, config says %s", info.DiffID, diffID)
		}
		return v1.Descriptor{MediaType: info.MediaType, Size: info.Size, Digest: info.Digest}, nil
	}
	d, size, err := s.content.Put(ctx, f, v1.Hash{}, -1)
	if err != nil {
		return v1.Descriptor{}, err
	}
	l := s.content.Layer(cache.LayerInfo{Digest: d, DiffID: diffID, Size: size, MediaType: mt})
	rc, err := l.Uncompressed() // verifies the DiffID as it reads
	if err != nil {
		return v1.Descriptor{}, err
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Size: size, Digest: d}, nil
}

// archivePath resolves a path named inside the archive below dir.
func archivePath(dir, p string) string {
	return filepath.Join(dir, filepath.FromSlash(path.Clean("/"+p)))
}

func readMeta(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxArchiveMeta+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxArchiveMeta {
		return nil, fmt.Errorf("%s is larger than %d bytes", filepath.Base(p), maxArchiveMeta)
	}
	return b, nil
}

// untar extracts the regular files and directories of r below dir; paths
// are confined to dir and links are skipped (archives need none).
func untar(ctx context.Context, r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading archive: %w", err)
		}
		p := archivePath(dir, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("extracting %s: %w", h.Name, err)
			}
		}
	}
}
