// Package ctxio holds lade's one context-bound reader, so that a long
// copy (a layer into the content store, a blob into an export) stops soon
// after its context is cancelled. It holds no state.
package ctxio

import (
	"context"
	"io"
)

// Reader reads from r until ctx is done, then fails with ctx's error.
func Reader(ctx context.Context, r io.Reader) io.Reader {
	return reader{ctx, r}
}

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
