package buildctx

import (
	"context"
	"fmt"
	"net/http"
)

// fromURL downloads an http(s) context: a tar (possibly compressed) is
// unpacked; anything else is the Dockerfile of an empty context, as
// docker build URL does.
func fromURL(ctx context.Context, url, scratch string) (*Context, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("downloading context: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("downloading context %s: %s", url, resp.Status)
	}
	c, err := fromStream(ctx, resp.Body, scratch)
	if err != nil {
		return nil, fmt.Errorf("context %s: %w", url, err)
	}
	return c, nil
}
