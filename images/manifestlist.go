package images

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrNoManifestList is the error for a list lade manifest has not made.
var ErrNoManifestList = errors.New("no such manifest list")

// ManifestList is a list being put together by lade manifest, kept
// apart from the images as docker manifest keeps its lists: the index to
// push and where each entry comes from.
type ManifestList struct {
	Name  string           `json:"name"` // canonical
	Index v1.IndexManifest `json:"index"`
	// Sources maps each entry's digest to the reference it was added as;
	// its blobs are pushed from the store when there, else from there.
	Sources map[string]string `json:"sources"`
}

func (s *Store) listPath(canonical string) string {
	return filepath.Join(s.root, "manifests", digestOf([]byte(canonical)).Hex+".json")
}

// ManifestList returns the list named list.
func (s *Store) ManifestList(list string) (*ManifestList, error) {
	canonical, err := normalize(list)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(s.listPath(canonical))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", list, ErrNoManifestList)
	}
	if err != nil {
		return nil, err
	}
	ml := &ManifestList{}
	if err := json.Unmarshal(b, ml); err != nil {
		return nil, fmt.Errorf("reading manifest list %s: %w", list, err)
	}
	return ml, nil
}

func (s *Store) saveList(ml *ManifestList) error {
	b, err := json.MarshalIndent(ml, "", "  ")
	if err != nil {
		return err
	}
	p := s.listPath(ml.Name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return replaceFile(p, b)
}

// ManifestCreate makes the list named list of the images refs name, as
// docker manifest create does (amend: add to an existing list). A ref is
// looked up in the store first, then in its registry; one that names an
// index adds all its images. Entries carry the platform of the image's
// config unless the index said one.
func (s *Store) ManifestCreate(ctx context.Context, list string, refs []string, amend bool, insecure []string) (*ManifestList, error) {
	canonical, err := normalize(list)
	if err != nil {
		return nil, err
	}
	var ml *ManifestList
	err = s.locked(func() error {
		ml, err = s.ManifestList(list)
		switch {
		case err == nil && !amend:
			return fmt.Errorf("refusing to amend an existing manifest list with no --amend flag")
		case errors.Is(err, ErrNoManifestList):
			ml = &ManifestList{Name: canonical, Index: v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, Sources: map[string]string{}}
		case err != nil:
			return err
		}
		for _, ref := range refs {
			descs, err := s.manifestEntries(ctx, ref, insecure)
			if err != nil {
				return err
			}
			for _, d := range descs {
				ml.Index.Manifests = slices.DeleteFunc(ml.Index.Manifests, func(m v1.Descriptor) bool { return m.Digest == d.Digest })
				ml.Index.Manifests = append(ml.Index.Manifests, d)
				ml.Sources[d.Digest.String()] = ref
			}
		}
		return s.saveList(ml)
	})
	return ml, err
}

// manifestEntries are the index entries ref adds: its image, or an
// index's images.
func (s *Store) manifestEntries(ctx context.Context, ref string, insecure []string) ([]v1.Descriptor, error) {
	if ix, err := s.GetIndex(ctx, ref); err == nil {
		return imageEntries(ix)
	}
	if img, err := s.Get(ctx, ref); err == nil {
		return imageEntry(img)
	}
	r, err := parseRemote(ref, insecure)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(r, s.RemoteOptions(ctx)...)
	if err != nil {
		return nil, remoteError("fetching", ref, err)
	}
	sniffMediaType(desc)
	if desc.MediaType.IsIndex() {
		ix, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		return imageEntries(ix)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, err
	}
	return imageEntry(img)
}

// imageEntries are ix's image entries (attestations and nested indexes
// left out), each with a platform.
func imageEntries(ix v1.ImageIndex) ([]v1.Descriptor, error) {
	im, err := ix.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []v1.Descriptor
	for _, m := range im.Manifests {
		if m.MediaType.IsImage() && m.Platform != nil && m.Platform.OS != "unknown" {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("index lists no image with a platform")
	}
	return out, nil
}

// imageEntry is img's index entry, its platform read from its config.
func imageEntry(img v1.Image) ([]v1.Descriptor, error) {
	desc, err := partialDescriptor(img)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	desc.Platform = &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion}
	return []v1.Descriptor{desc}, nil
}

func partialDescriptor(img v1.Image) (v1.Descriptor, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: digestOf(raw)}, nil
}

// ManifestAnnotate sets the platform fields given (non-empty) on the
// entries of list that image added, or whose digest it is.
func (s *Store) ManifestAnnotate(list, image string, p v1.Platform) error {
	return s.locked(func() error {
		ml, err := s.ManifestList(list)
		if err != nil {
			return err
		}
		found := false
		for i, m := range ml.Index.Manifests {
			if ml.Sources[m.Digest.String()] != image && m.Digest.String() != image {
				continue
			}
			found = true
			mp := v1.Platform{}
			if m.Platform != nil {
				mp = *m.Platform
			}
			setIf(&mp.OS, p.OS)
			setIf(&mp.Architecture, p.Architecture)
			setIf(&mp.Variant, p.Variant)
			setIf(&mp.OSVersion, p.OSVersion)
			if p.OSFeatures != nil {
				mp.OSFeatures = p.OSFeatures
			}
			ml.Index.Manifests[i].Platform = &mp
		}
		if !found {
			return fmt.Errorf("manifest for image %s does not exist in %s", image, list)
		}
		return s.saveList(ml)
	})
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// ManifestRemove deletes local lists.
func (s *Store) ManifestRemove(list string) error {
	canonical, err := normalize(list)
	if err != nil {
		return err
	}
	err = os.Remove(s.listPath(canonical))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", list, ErrNoManifestList)
	}
	return err
}

// ManifestInspect is the raw manifest of the local list named ref, else
// of ref in its registry (a list or an image), as docker manifest
// inspect shows it.
func (s *Store) ManifestInspect(ctx context.Context, ref string, insecure []string) ([]byte, error) {
	if ml, err := s.ManifestList(ref); err == nil {
		return json.Marshal(ml.Index)
	}
	r, err := parseRemote(ref, insecure)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(r, s.RemoteOptions(ctx)...)
	if err != nil {
		return nil, remoteError("inspecting", ref, err)
	}
	return desc.Manifest, nil
}

// ManifestPush pushes every image of list to the list's repository (from
// the store, else from where it was added: a blob of the same registry is
// mounted), then the list itself, and returns its digest and size.
func (s *Store) ManifestPush(ctx context.Context, list string, opts PushOptions) (v1.Hash, int, error) {
	ml, err := s.ManifestList(list)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	if len(ml.Index.Manifests) == 0 {
		return v1.Hash{}, 0, fmt.Errorf("manifest list %s is empty", list)
	}
	target, err := parseRemote(ml.Name, opts.Insecure)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	for _, m := range ml.Index.Manifests {
		img, err := s.listImage(ctx, ml, m.Digest, opts.Insecure)
		if err != nil {
			return v1.Hash{}, 0, err
		}
		if _, err := s.Push(ctx, target.Context().Digest(m.Digest.String()).String(), img, opts); err != nil {
			return v1.Hash{}, 0, err
		}
	}
	raw, err := json.Marshal(ml.Index)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	err = remote.Put(target, rawManifest{raw, ml.Index.MediaType}, s.RemoteOptions(ctx)...)
	if err != nil {
		return v1.Hash{}, 0, remoteError("pushing", list, err)
	}
	return digestOf(raw), len(raw), nil
}

// listImage is entry d of ml: from the store, else from its source.
func (s *Store) listImage(ctx context.Context, ml *ManifestList, d v1.Hash, insecure []string) (v1.Image, error) {
	if s.content.Has(d) {
		if img, err := s.load(ctx, d); err == nil {
			return img, nil
		}
	}
	src, err := parseRemote(ml.Sources[d.String()], insecure)
	if err != nil {
		return nil, fmt.Errorf("image %s of %s: %w", d, ml.Name, err)
	}
	img, err := remote.Image(src.Context().Digest(d.String()), s.RemoteOptions(ctx)...)
	if err != nil {
		return nil, remoteError("fetching", src.Context().Digest(d.String()).String(), err)
	}
	return img, nil
}

// rawManifest is a manifest pushed as its bytes.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }
