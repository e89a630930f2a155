package solver

import (
	"context"
	"errors"
	"sync"

	"github.com/lade-build/lade/fileop"
)

// contextSums digests each context path once per build, for every
// platform of it. The prehash, a COPY's cache key and a RUN bind mount's
// key ask for the same paths, and on a large context a second walk costs
// as much as the first (a no-op rebuild of 100k files walked it twice).
type contextSums struct {
	mu sync.Mutex
	m  map[string]*contextSum
}

type contextSum struct {
	done   chan struct{}
	digest string
	err    error
}

// contextChecksum is fileop.Checksum of context path p, computed by the
// first caller and shared with the others. A result cut short by its
// caller's cancellation is not kept: the next caller digests again.
func (bd *build) contextChecksum(ctx context.Context, p string) (string, error) {
	s := &bd.sh.sums
	for {
		s.mu.Lock()
		if s.m == nil {
			s.m = map[string]*contextSum{}
		}
		f, ok := s.m[p]
		if !ok {
			f = &contextSum{done: make(chan struct{})}
			s.m[p] = f
		}
		s.mu.Unlock()
		if !ok {
			src := fileop.Source{Root: bd.o.ContextDir, Ignore: bd.ignore, Sent: bd.sent}
			f.digest, f.err = fileop.Checksum(ctx, src, []string{p}, bd.b.StatCache)
			if f.err != nil && ctx.Err() != nil {
				s.mu.Lock()
				delete(s.m, p)
				s.mu.Unlock()
			}
			close(f.done)
			return f.digest, f.err
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		if f.err == nil || !isCancel(f.err) {
			return f.digest, f.err
		}
		// The first caller was cancelled; try again as the first.
	}
}

func isCancel(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
