package solver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/lade-build/lade/fileop"
)

// shared is what the builds of one multi-platform build have in common.
type shared struct {
	exec    Executor // Builder.Exec as given, for its Warm
	created time.Time
	steps   keyLocks           // one runner per step cache key, see layerStep
	made    sync.Map           // step key -> cache.Result of the steps run here
	unpacks singleflight.Group // by diffID, see ensureSnapshots
	// multi is set for more than one platform: progress names then
	// carry the platform.
	multi  bool
	ignore *fileop.Matcher // .dockerignore, read before the builds start
	sums   contextSums     // context digests, see contextChecksum

	mu   sync.Mutex
	imgs map[string]*imageFuture // base images by ref and platform
}

// BuildPlatforms builds o once for each platform, all at once, and
// returns the results in the order of platforms. Each platform is a build
// of its own (stage DAG, args, result), against the one Builder: a step
// whose cache key two builds share, like the steps of a FROM
// --platform=$BUILDPLATFORM stage that reads no TARGET* arg, runs once
// and the other build finds it in the cache. The first failure cancels
// every build.
func (b *Builder) BuildPlatforms(ctx context.Context, o Options, platforms []v1.Platform) ([]*Result, error) {
	if len(platforms) == 0 {
		return nil, errors.New("no platform to build")
	}
	if o.Dockerfile == nil {
		return nil, errors.New("no Dockerfile stages")
	}
	if err := os.MkdirAll(b.TmpDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating temp dir: %w", err)
	}
	sh := &shared{exec: b.Exec, created: time.Now().UTC().Truncate(time.Second), multi: len(platforms) > 1}
	if o.Jobs > 0 {
		// The limit wraps only the process, so a step waiting on another
		// stage never holds a slot and jobs=1 cannot deadlock.
		lb := *b
		lb.Exec = &limitedExec{Executor: b.Exec, slots: make(chan struct{}, o.Jobs)}
		b = &lb
	}
	if sh.multi {
		// Shown once, before the builds start.
		bd := &build{o: o, df: o.Dockerfile, sh: sh}
		if err := bd.loadIgnore(); err != nil {
			return nil, err
		}
		sh.ignore = bd.ignore
	}
	res := make([]*Result, len(platforms))
	g, gctx := errgroup.WithContext(ctx)
	for i, p := range platforms {
		po := o
		po.Platform = p
		if i > 0 {
			// Stages expand their instructions in place.
			df, err := o.Dockerfile.Clone()
			if err != nil {
				return nil, err
			}
			po.Dockerfile = df
		}
		g.Go(func() error {
			r, err := b.build(gctx, po, sh)
			res[i] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return res, nil
}

// Index is the OCI image index of a multi-platform build's results, each
// manifest listed with the platform it was built for.
func Index(results []*Result) (v1.ImageIndex, error) {
	var adds []mutate.IndexAddendum
	for _, r := range results {
		p := r.Platform
		adds = append(adds, mutate.IndexAddendum{Add: r.Image, Descriptor: v1.Descriptor{Platform: &p}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	if _, err := idx.Digest(); err != nil {
		return nil, fmt.Errorf("assembling image index: %w", err)
	}
	return idx, nil
}

// keyLocks lets one caller at a time hold a key; the others wait, so the
// second build to reach a step finds the first one's result cached.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	ch    chan struct{} // holds a token while the key is held
	users int
}

// lock waits for key (or ctx) and returns the func that releases it.
func (k *keyLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{ch: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.users++
	k.mu.Unlock()
	done := func() {
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}
