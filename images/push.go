package images

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
	"github.com/moby/moby/api/types/events"

	"github.com/lade-build/lade/cache"
)

// PushOptions tune Push.
type PushOptions struct {
	Insecure []string  // extra registry hosts allowed over plain http
	Progress io.Writer // optional: one line per blob
	// Transport is the base round tripper (default the store's, Transport);
	// go-containerregistry adds retries, auth and the user agent on top.
	Transport http.RoundTripper
	// Auth, when set, is the credential instead of docker's stored ones.
	Auth authn.Authenticator
}

// Push uploads img to ref and returns the manifest digest the registry
// now serves. Blobs go up blobJobs at a time; a blob the registry already
// has (HEAD) is not sent; a blob that lade pulled from or pushed to
// another repository of the same registry (or a layer of a remote.Image
// there) is cross-repository mounted rather than uploaded. Transient
// failures (5xx, 429, dropped connections) are retried with s.backoff,
// and the manifest is written last, so a failed push never tags anything.
func (s *Store) Push(ctx context.Context, ref string, img v1.Image, opts PushOptions) (v1.Hash, error) {
	d, err := s.push(ctx, ref, img, opts)
	if err != nil {
		return v1.Hash{}, remoteError("pushing", ref, err)
	}
	s.event(events.ActionPush, ref, nil)
	return d, nil
}

func (s *Store) push(ctx context.Context, ref string, img v1.Image, opts PushOptions) (v1.Hash, error) {
	r, err := parseRemote(ref, opts.Insecure)
	if err != nil {
		return v1.Hash{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	digests, err := blobDigests(img)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("reading manifest: %w", err)
	}
	var up v1.Image = img
	if from := s.mountSources(r.Context(), digests); len(from) > 0 {
		up = &mountable{Image: img, from: from}
	}
	if err := remote.Write(r, up, s.pushOptions(ctx, opts, blobSizes(img))...); err != nil {
		return v1.Hash{}, err
	}
	s.noteSources(r.Context(), digests, opts.Progress)
	return d, nil
}

// pushOptions are remoteOptions for a push: blobJobs blobs at a time,
// over opts.Transport with each blob logged (with its size from sizes)
// to opts.Progress.
func (s *Store) pushOptions(ctx context.Context, opts PushOptions, sizes map[string]int64) []remote.Option {
	base := opts.Transport
	if base == nil {
		base = s.transport
	}
	more := append(withAuth(opts.Auth), remote.WithJobs(blobJobs), remote.WithTransport(&pushLog{next: base, w: opts.Progress, sizes: sizes}))
	return s.RemoteOptions(ctx, more...)
}

// PushIndex uploads the index idx to ref as Push does an image: every
// child image's blobs and manifest, then the index, whose entries keep
// their platforms. Children are pushed by digest; only the index is
// tagged. It returns the index digest.
func (s *Store) PushIndex(ctx context.Context, ref string, idx v1.ImageIndex, opts PushOptions) (v1.Hash, error) {
	d, err := s.pushIndex(ctx, ref, idx, opts)
	if err != nil {
		return v1.Hash{}, remoteError("pushing", ref, err)
	}
	return d, nil
}

func (s *Store) pushIndex(ctx context.Context, ref string, idx v1.ImageIndex, opts PushOptions) (v1.Hash, error) {
	r, err := parseRemote(ref, opts.Insecure)
	if err != nil {
		return v1.Hash{}, err
	}
	d, err := idx.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	sizes := map[string]int64{}
	var digests []v1.Hash
	err = eachImage(idx, 0, func(img v1.Image) error {
		maps.Copy(sizes, blobSizes(img))
		ds, err := blobDigests(img)
		digests = append(digests, ds...)
		return err
	})
	if err != nil {
		return v1.Hash{}, err
	}
	up := idx
	if from := s.mountSources(r.Context(), digests); len(from) > 0 {
		up = &mountableIndex{imageIndex: idx, from: from}
	}
	if err := remote.WriteIndex(r, up, s.pushOptions(ctx, opts, sizes)...); err != nil {
		return v1.Hash{}, err
	}
	s.noteSources(r.Context(), digests, opts.Progress)
	return d, nil
}

// eachImage calls fn on every image of idx, nested indexes included.
func eachImage(idx v1.ImageIndex, depth int, fn func(v1.Image) error) error {
	if depth > maxIndexDepth {
		return fmt.Errorf("indexes nested more than %d deep", maxIndexDepth)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, desc := range im.Manifests {
		switch {
		case desc.MediaType.IsImage():
			img, err := idx.Image(desc.Digest)
			if err != nil {
				return err
			}
			if err := fn(img); err != nil {
				return err
			}
		case desc.MediaType.IsIndex():
			child, err := idx.ImageIndex(desc.Digest)
			if err != nil {
				return err
			}
			if err := eachImage(child, depth+1, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// blobSizes maps the image's blob digests to their sizes, for progress.
func blobSizes(img v1.Image) map[string]int64 {
	sizes := map[string]int64{}
	m, err := img.Manifest()
	if err != nil {
		return sizes
	}
	sizes[m.Config.Digest.String()] = m.Config.Size
	for _, l := range m.Layers {
		sizes[l.Digest.String()] = l.Size
	}
	return sizes
}

// pushLog reports, from the registry's answers, what happened to each
// blob: already there (HEAD 200), mounted from another repository, or
// uploaded (the closing PUT ?digest=). It sits under the retry layer, so
// only successful attempts are reported.
type pushLog struct {
	next  http.RoundTripper
	w     io.Writer
	sizes map[string]int64
	mu    sync.Mutex
	seen  map[string]bool
}

func (p *pushLog) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(req)
	if err != nil || p.w == nil {
		return resp, err
	}
	path, q := req.URL.Path, req.URL.Query()
	switch {
	case req.Method == http.MethodHead && strings.Contains(path, "/blobs/sha256:") && resp.StatusCode == http.StatusOK:
		p.line("exists", path[strings.LastIndex(path, "/")+1:])
	case req.Method == http.MethodPost && q.Get("mount") != "" && resp.StatusCode == http.StatusCreated:
		p.line("mounted", q.Get("mount"))
	case req.Method == http.MethodPut && strings.Contains(path, "/blobs/uploads/") && q.Get("digest") != "" && resp.StatusCode == http.StatusCreated:
		p.line("pushed", q.Get("digest"))
	}
	return resp, nil
}

func (p *pushLog) line(what, digest string) {
	digest, _ = url.PathUnescape(digest)
	h, err := v1.NewHash(digest)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if p.seen[digest] {
		return
	}
	p.seen[digest] = true
	fmt.Fprintf(p.w, "%s %s %s\n", what, shortDigest(h), humanSize(p.sizes[digest]))
}

// Recompress returns img with every layer not already compressed as c
// rewritten as c, for buildx's force-compression=true. level (0: the
// default) is passed to the compressor. The config, and so the image ID,
// is unchanged; the manifest becomes an OCI manifest held in content.
func (s *Store) Recompress(ctx context.Context, img v1.Image, c cache.Compression, level int) (v1.Image, error) {
	want, err := c.MediaType()
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("recompressing: reading manifest: %w", err)
	}
	m = m.DeepCopy()
	changed := false
	for i, desc := range m.Layers {
		if compressionOfType(desc.MediaType) == compressionOfType(want) {
			continue
		}
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("recompressing layer %s: %w", desc.Digest, err)
		}
		nd, err := s.recompressLayer(ctx, l, c, level)
		if err != nil {
			return nil, fmt.Errorf("recompressing layer %s: %w", desc.Digest, err)
		}
		nd.MediaType = want
		m.Layers[i] = nd
		changed = true
	}
	if !changed {
		return img, nil
	}
	m.MediaType = types.OCIManifestSchema1
	if m.Config.MediaType == types.DockerConfigJSON {
		m.Config.MediaType = types.OCIConfigJSON
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	return s.putAndLoad(ctx, rawCfg, raw)
}

func (s *Store) recompressLayer(ctx context.Context, l v1.Layer, c cache.Compression, level int) (v1.Descriptor, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return v1.Descriptor{}, err
	}
	defer rc.Close()
	pr, pw := io.Pipe()
	go func() {
		zw, err := compressor(pw, c, level)
		if err == nil {
			_, err = io.Copy(zw, rc)
			if cerr := zw.Close(); err == nil {
				err = cerr
			}
		}
		pw.CloseWithError(err)
	}()
	d, n, err := s.content.Put(ctx, pr, v1.Hash{}, -1)
	pr.CloseWithError(io.ErrClosedPipe) // unblocks the writer if Put stopped early
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{Digest: d, Size: n}, nil
}

// compressor is like cache's, plus a level.
func compressor(w io.Writer, c cache.Compression, level int) (io.WriteCloser, error) {
	switch c {
	case "", cache.Gzip:
		if level == 0 {
			level = pgzip.DefaultCompression
		}
		zw, err := pgzip.NewWriterLevel(w, level)
		if err != nil {
			return nil, err
		}
		zw.ModTime = time.Unix(0, 0)
		return zw, nil
	case cache.Zstd:
		opts := []zstd.EOption{}
		if level != 0 {
			opts = append(opts, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)))
		}
		return zstd.NewWriter(w, opts...)
	case cache.Uncompressed:
		return nopCloser{w}, nil
	}
	return nil, fmt.Errorf("unknown compression %q", c)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// compressionOfType names a layer media type's compression, treating
// docker's and OCI's gzip types as the same.
func compressionOfType(mt types.MediaType) cache.Compression {
	s := string(mt)
	switch {
	case strings.HasSuffix(s, "zstd"):
		return cache.Zstd
	case strings.HasSuffix(s, "gzip"):
		return cache.Gzip
	}
	return cache.Uncompressed
}
