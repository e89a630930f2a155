package images

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Blob sources record which registry repositories hold each blob, learnt
// from pulls and pushes. A registry that keeps blobs per repository
// (distribution) answers HEAD with 404 for a blob it holds only in a
// sibling repository; naming that sibling lets a push ask the registry to
// mount the blob instead of receiving its bytes again.

// maxSourcesPerBlob bounds the repositories remembered for one blob.
const maxSourcesPerBlob = 4

func (s *Store) sourcesPath() string { return filepath.Join(s.root, "sources.json") }

// readSources returns digest -> repositories ("registry/repository"),
// newest first. The file is only a hint for mounts, so a missing or
// unreadable one counts as empty rather than failing a push.
func (s *Store) readSources() map[string][]string {
	m := map[string][]string{}
	b, err := os.ReadFile(s.sourcesPath())
	if err != nil || json.Unmarshal(b, &m) != nil {
		return map[string][]string{}
	}
	return m
}

// recordSources notes that repo holds every blob in digests. Blobs that
// left content are dropped, so the file is never larger than the store.
func (s *Store) recordSources(repo name.Repository, digests []v1.Hash) error {
	r := repo.Name()
	err := s.locked(func() error {
		m := s.readSources()
		for _, d := range digests {
			list := []string{r}
			for _, o := range m[d.String()] {
				if o != r && len(list) < maxSourcesPerBlob {
					list = append(list, o)
				}
			}
			m[d.String()] = list
		}
		for k := range m {
			if h, err := v1.NewHash(k); err != nil || !s.content.Has(h) {
				delete(m, k)
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return replaceFile(s.sourcesPath(), b)
	})
	if err != nil {
		return fmt.Errorf("recording blob sources: %w", err)
	}
	return nil
}

// noteSources records repo as a source of digests; a failure only costs
// future mounts, so it is reported as a warning, not as the command's error.
func (s *Store) noteSources(repo name.Repository, digests []v1.Hash, w io.Writer) {
	if err := s.recordSources(repo, digests); err != nil && w != nil {
		fmt.Fprintf(w, "warning: %v\n", err)
	}
}

// mountSources picks, for each of digests, the most recently recorded
// repository on target's registry other than target itself.
func (s *Store) mountSources(target name.Repository, digests []v1.Hash) map[v1.Hash]name.Repository {
	var opts []name.Option
	if target.Scheme() == "http" {
		opts = append(opts, name.Insecure)
	}
	m := s.readSources()
	from := map[v1.Hash]name.Repository{}
	for _, d := range digests {
		for _, src := range m[d.String()] {
			repo, err := name.NewRepository(src, opts...)
			if err != nil || repo.RegistryStr() != target.RegistryStr() || repo.Name() == target.Name() {
				continue
			}
			from[d] = repo
			break
		}
	}
	return from
}

// mountable is img with each blob that has a known source repository
// wrapped as remote.MountableLayer, which makes remote.Write try
// POST /v2/<target>/blobs/uploads/?mount=<digest>&from=<source> (and ask
// for pull access to the source) before uploading. A registry that cannot
// mount answers 202 and the upload proceeds as usual.
type mountable struct {
	v1.Image
	from map[v1.Hash]name.Repository
}

func (m *mountable) wrap(l v1.Layer) v1.Layer {
	if _, ok := l.(*remote.MountableLayer); ok {
		return l
	}
	d, err := l.Digest()
	if err != nil {
		return l
	}
	repo, ok := m.from[d]
	if !ok {
		return l
	}
	return &remote.MountableLayer{Layer: l, Reference: repo.Digest(d.String())}
}

func (m *mountable) Layers() ([]v1.Layer, error) {
	ls, err := m.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for i, l := range ls {
		out[i] = m.wrap(l)
	}
	return out, nil
}

func (m *mountable) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := m.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return m.wrap(l), nil
}

// ConfigLayer lets the config blob be mounted too (partial.ConfigLayer
// looks for this method).
func (m *mountable) ConfigLayer() (v1.Layer, error) {
	l, err := partial.ConfigLayer(m.Image)
	if err != nil {
		return nil, err
	}
	return m.wrap(l), nil
}

// mountableIndex is an index whose images are mountable.
type mountableIndex struct {
	imageIndex // the index, under a name that leaves ImageIndex free
	from       map[v1.Hash]name.Repository
}

type imageIndex = v1.ImageIndex

func (m *mountableIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := m.imageIndex.Image(h)
	if err != nil {
		return nil, err
	}
	return &mountable{Image: img, from: m.from}, nil
}

func (m *mountableIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	ix, err := m.imageIndex.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return &mountableIndex{imageIndex: ix, from: m.from}, nil
}

// blobDigests lists img's config and layer digests from its manifest.
func blobDigests(img v1.Image) ([]v1.Hash, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	return manifestDigests(m), nil
}

// manifestDigests lists the config and layer digests m names.
func manifestDigests(m *v1.Manifest) []v1.Hash {
	ds := []v1.Hash{m.Config.Digest}
	for _, l := range m.Layers {
		ds = append(ds, l.Digest)
	}
	return ds
}
