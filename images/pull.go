package images

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/moby/api/types/events"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/snapshot"
)

// PullOptions tune Pull.
type PullOptions struct {
	Platform v1.Platform // default: the host's (DefaultPlatform)
	Insecure []string    // extra registry hosts allowed over plain http
	Progress io.Writer   // optional: one line per blob, pulling or exists
	// Verify, when set, judges the digest ref resolves to (an index's, for
	// a multi-platform image) before anything is fetched or stored.
	Verify func(ctx context.Context, ref name.Reference, d v1.Hash) error
	// Snapshots, when set, receives every layer unpacked as it downloads
	// (see fetchLayer): the image is ready to run when Pull returns.
	Snapshots *snapshot.Snapshotter
	// Auth, when set, is the credential instead of docker's stored ones.
	Auth authn.Authenticator
}

// Pull downloads ref into content and returns the store-backed image; it
// does not tag it. Every blob is verified against its digest and size
// before it becomes visible, and blobs already present are not fetched.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (v1.Image, error) {
	release, err := s.content.HoldGC(ctx)
	if err != nil {
		return nil, err
	}
	defer release() // blobs stay unreferenced until the index names them
	img, err := s.pull(ctx, ref, opts)
	if err != nil {
		return nil, remoteError("pulling", ref, err)
	}
	s.event(events.ActionPull, ref, nil)
	return img, nil
}

func (s *Store) pull(ctx context.Context, ref string, opts PullOptions) (v1.Image, error) {
	r, err := parseRemote(ref, opts.Insecure)
	if err != nil {
		return nil, err
	}
	puller, err := remote.NewPuller(s.RemoteOptions(ctx, withAuth(opts.Auth)...)...)
	if err != nil {
		return nil, err
	}
	desc, err := resolveManifest(ctx, puller, r, opts)
	if err != nil {
		return nil, err
	}
	raw := desc.Manifest
	m, err := checkImageManifest(desc.Digest, raw)
	if err != nil {
		return nil, err
	}
	repo := r.Context()
	if err := s.fetchBlobs(ctx, puller, repo, m, opts.Snapshots, &progress{w: opts.Progress}); err != nil {
		return nil, err
	}
	// The manifest goes in last: its presence implies its blobs are there.
	if _, err := s.content.PutBytes(ctx, raw); err != nil {
		return nil, err
	}
	img, err := s.load(ctx, desc.Digest)
	if err != nil {
		return nil, err
	}
	s.noteSources(repo, manifestDigests(m), opts.Progress)
	return img, nil
}

// resolveManifest fetches r's image manifest, through an index to the
// manifest for opts.Platform (the host's where unset) when r names one,
// once opts.Verify accepts the digest r resolves to.
func resolveManifest(ctx context.Context, puller *remote.Puller, r name.Reference, opts PullOptions) (*remote.Descriptor, error) {
	plat := opts.Platform
	if plat.OS == "" {
		plat.OS = "linux"
	}
	if plat.Architecture == "" {
		plat.Architecture = DefaultPlatform().Architecture
	}
	desc, err := getManifest(ctx, puller, r)
	if err != nil {
		return nil, fmt.Errorf("fetching manifest: %w", err)
	}
	if opts.Verify != nil {
		if err := opts.Verify(ctx, r, desc.Digest); err != nil {
			return nil, err
		}
	}
	sniffMediaType(desc)
	if desc.MediaType.IsIndex() {
		if len(desc.Manifest) > maxMetadata {
			return nil, fmt.Errorf("index %s is larger than %d bytes", desc.Digest, maxMetadata)
		}
		child, err := pickPlatform(desc.Manifest, desc.Digest, plat)
		if err != nil {
			return nil, err
		}
		if desc, err = puller.Get(ctx, r.Context().Digest(child.String())); err != nil {
			return nil, fmt.Errorf("fetching manifest %s for %s: %w", child, plat, err)
		}
		sniffMediaType(desc)
	}
	if !desc.MediaType.IsImage() {
		return nil, fmt.Errorf("manifest %s has unsupported media type %q", desc.Digest, desc.MediaType)
	}
	return desc, nil
}

// checkImageManifest parses the image manifest raw fetched as d, which
// must have that digest, a size within bounds and a supported config.
func checkImageManifest(d v1.Hash, raw []byte) (*v1.Manifest, error) {
	if len(raw) > maxMetadata {
		return nil, fmt.Errorf("manifest %s is larger than %d bytes", d, maxMetadata)
	}
	if got := digestOf(raw); got != d {
		return nil, fmt.Errorf("manifest %s: content has digest %s", d, got)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing manifest %s: %w", d, err)
	}
	if err := cache.CheckManifest(m, cache.ImageConfigTypes...); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", d, err)
	}
	if m.Config.Size > maxMetadata {
		return nil, fmt.Errorf("config %s is larger than %d bytes", m.Config.Digest, maxMetadata)
	}
	return m, nil
}

// getManifest fetches r's manifest. go-containerregistry checks a body
// against the digest only when pulling by digest, so a tag is first
// resolved with HEAD and the manifest fetched by the digest the registry
// announces, as containerd does. A registry whose HEAD gives no digest gets
// a plain GET by tag.
func getManifest(ctx context.Context, puller *remote.Puller, r name.Reference) (*remote.Descriptor, error) {
	if _, ok := r.(name.Tag); ok {
		if head, err := puller.Head(ctx, r); err == nil {
			return puller.Get(ctx, r.Context().Digest(head.Digest.String()))
		}
	}
	return puller.Get(ctx, r)
}

// retryBody runs fetch again, with s.backoff, while it fails because the
// connection broke during the body: go-containerregistry's transport
// retries a request only until its headers arrive.
func (s *Store) retryBody(ctx context.Context, fetch func() error) error {
	b := s.backoff
	for {
		err := fetch()
		if err == nil || !brokenBody(err) || b.Steps <= 1 {
			return err
		}
		t := time.NewTimer(b.Step())
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// brokenBody tells a dropped connection from wrong bytes (never retried)
// and from cancellation.
func brokenBody(err error) bool {
	if errors.Is(err, cache.ErrDigestMismatch) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) || errors.As(err, &ne) && ne.Timeout()
}

// sniffMediaType fills in the media type from the manifest body when the
// registry sent no usable Content-Type.
func sniffMediaType(desc *remote.Descriptor) {
	if desc.MediaType.IsIndex() || desc.MediaType.IsImage() {
		return
	}
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if json.Unmarshal(desc.Manifest, &probe) == nil && probe.MediaType != "" {
		desc.MediaType = probe.MediaType
	}
}

// pickPlatform returns the digest of the manifest for want in index raw.
func pickPlatform(raw []byte, d v1.Hash, want v1.Platform) (v1.Hash, error) {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return v1.Hash{}, fmt.Errorf("parsing index %s: %w", d, err)
	}
	if err := cache.CheckIndex(idx); err != nil {
		return v1.Hash{}, fmt.Errorf("index %s: %w", d, err)
	}
	var have []string
	ps := make([]*v1.Platform, len(idx.Manifests))
	for i, m := range idx.Manifests {
		if !m.MediaType.IsImage() || m.Platform == nil {
			continue
		}
		ps[i] = m.Platform
		have = append(have, m.Platform.String())
	}
	if i := bestMatch(ps, want); i >= 0 {
		return idx.Manifests[i].Digest, nil
	}
	return v1.Hash{}, fmt.Errorf("no manifest for platform %s in index %s (has %s)", want, d, strings.Join(have, ", "))
}

// progress writes one line per blob; writes come from several goroutines.
type progress struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *progress) line(what string, d v1.Hash, size int64) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "%s %s %s\n", what, shortDigest(d), humanSize(size))
}

func shortDigest(d v1.Hash) string {
	if len(d.Hex) > 12 {
		return d.Algorithm + ":" + d.Hex[:12] + "…"
	}
	return d.String()
}

func humanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f, suffix := float64(n), "kMGTPE"
	i := -1
	for f >= unit && i < len(suffix)-1 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f%cB", f, suffix[i])
}
