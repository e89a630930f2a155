package images

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/internal/ctxio"
	"github.com/lade-build/lade/snapshot"
)

// fetchBlobs stores m's config, then its layers in parallel, from repo;
// blobs already in the store are not fetched again. With snaps, each
// layer is also unpacked: in the same pass as its download when both are
// missing (fetchLayer), from the store when only the snapshot is.
func (s *Store) fetchBlobs(ctx context.Context, puller *remote.Puller, repo name.Repository, m *v1.Manifest, snaps *snapshot.Snapshotter, p *progress) error {
	if err := s.fetch(ctx, puller, repo, m.Config, p); err != nil {
		return err
	}
	diffIDs, err := s.diffIDs(m)
	if err != nil || len(diffIDs) != len(m.Layers) {
		snaps = nil // a broken config fails the unpack that needs it, as before
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(blobJobs)
	seen := map[v1.Hash]bool{}
	for i, l := range m.Layers {
		if seen[l.Digest] {
			continue
		}
		seen[l.Digest] = true
		g.Go(func() error {
			if snaps == nil || snaps.Has(diffIDs[i]) {
				return s.fetch(gctx, puller, repo, l, p)
			}
			info := cache.LayerInfo{Digest: l.Digest, DiffID: diffIDs[i], Size: l.Size, MediaType: l.MediaType}
			return s.fetchLayer(gctx, puller, repo, info, snaps, p)
		})
	}
	return g.Wait()
}

// diffIDs reads the stored config of m.
func (s *Store) diffIDs(m *v1.Manifest) ([]v1.Hash, error) {
	raw, err := s.readBlob(m.Config.Digest, "config")
	if err != nil {
		return nil, err
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return cfg.RootFS.DiffIDs, nil
}

// fetch downloads blob desc into content unless it is there.
func (s *Store) fetch(ctx context.Context, puller *remote.Puller, repo name.Repository, desc v1.Descriptor, p *progress) error {
	if s.content.Has(desc.Digest) {
		p.line("exists", desc.Digest, desc.Size)
		return nil
	}
	p.line("pulling", desc.Digest, desc.Size)
	return s.retryBody(ctx, func() error {
		rc, err := openBlob(ctx, puller, repo, desc.Digest)
		if err != nil {
			return err
		}
		defer rc.Close()
		// Put checks digest and size; the limit keeps a lying registry
		// from streaming forever.
		_, _, err = s.content.Put(ctx, io.LimitReader(rc, desc.Size+1), desc.Digest, desc.Size)
		return err // Put's errors name the digest
	})
}

// fetchLayer stores layer info and unpacks it into snaps, from the store
// when the blob is there, else in one pass over the download.
func (s *Store) fetchLayer(ctx context.Context, puller *remote.Puller, repo name.Repository, info cache.LayerInfo, snaps *snapshot.Snapshotter, p *progress) error {
	if s.content.Has(info.Digest) {
		p.line("exists", info.Digest, info.Size)
		rc, err := s.content.Layer(info).Uncompressed()
		if err != nil {
			return err
		}
		defer rc.Close()
		return snaps.Unpack(ctx, info.DiffID, rc)
	}
	p.line("pulling", info.Digest, info.Size)
	return s.retryBody(ctx, func() error { return s.streamLayer(ctx, puller, repo, info, snaps) })
}

// streamLayer downloads layer info once into the content store's ingest
// (hashing the blob) while the snapshot extractor decompresses and
// extracts what has arrived (hashing the tar); the download goes at the
// network's pace, the extraction at its own, and neither waits on the
// other. Both digests are checked before either is committed, so a lying
// registry leaves neither blob nor snapshot, and a killed pull leaves
// only temp files.
func (s *Store) streamLayer(ctx context.Context, puller *remote.Puller, repo name.Repository, info cache.LayerInfo, snaps *snapshot.Snapshotter) error {
	rc, err := openBlob(ctx, puller, repo, info.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	ing, err := s.content.NewIngest(info.Digest, info.Size)
	if err != nil {
		return err
	}
	defer ing.Discard()
	downloaded := make(chan error, 1)
	go func() {
		// The limit keeps a lying registry from streaming forever.
		body := ctxio.Reader(ctx, io.LimitReader(rc, info.Size+1))
		_, err := io.CopyBuffer(ing, body, make([]byte, 1<<20))
		ing.CloseWrite(err)
		downloaded <- err
	}()
	x, xerr := extractFrom(ctx, ing.Tail(), info, snaps)
	if x != nil {
		defer x.Discard()
	}
	// Wrong bytes usually break the gzip or tar stream before the blob's
	// digest can be checked: name the blob first when it is wrong.
	if err := checkDownload(ctx, <-downloaded, ing, info.Digest); err != nil {
		return err
	}
	if xerr != nil {
		return xerr
	}
	if _, _, err := ing.Commit(); err != nil {
		return err
	}
	return x.Commit()
}

// checkDownload judges a finished download into ing: a broken
// connection is returned as it is, for retryBody; then the blob must
// have its digest and size.
func checkDownload(ctx context.Context, err error, ing *cache.Ingest, d v1.Hash) error {
	if err != nil && (brokenBody(err) || ctx.Err() != nil) {
		return fmt.Errorf("fetching blob %s: %w", d, err)
	}
	if _, verr := ing.Verify(); verr != nil {
		return verr
	}
	if err != nil {
		return fmt.Errorf("fetching blob %s: %w", d, err)
	}
	return nil
}

// extractFrom decompresses the layer blob stream r into a verified,
// uncommitted snapshot.
func extractFrom(ctx context.Context, r io.Reader, info cache.LayerInfo, snaps *snapshot.Snapshotter) (*snapshot.Extracted, error) {
	dec, err := cache.Decompress(r, info)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	return snaps.Extract(ctx, info.DiffID, dec)
}

// openBlob starts downloading blob d of repo.
func openBlob(ctx context.Context, puller *remote.Puller, repo name.Repository, d v1.Hash) (io.ReadCloser, error) {
	l, err := puller.Layer(ctx, repo.Digest(d.String()))
	if err != nil {
		return nil, fmt.Errorf("fetching blob %s: %w", d, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("fetching blob %s: %w", d, err)
	}
	return rc, nil
}
