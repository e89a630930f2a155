package container

import (
	"context"
	"io"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/snapshot"
)

// WriteDiff writes c's changes (its overlay upper dir) as an uncompressed
// OCI layer tar, whiteouts included, for commit.
func (s *Store) WriteDiff(ctx context.Context, c *Config, w io.Writer) error {
	upper, lowers := s.Layers(c)
	_, err := snapshot.Diff(ctx, upper, lowers, w, snapshot.DiffOptions{Exclude: c.mountpoint})
	return err
}

// ImageConfig applies c's own settings to its image's config cfg, as
// docker commit does: the command it ran, its environment, working
// directory, user and labels.
func (c *Config) ImageConfig(cfg *v1.Config) {
	// Args is the entrypoint and the command: keep the image's
	// entrypoint when the container still runs it.
	if n := len(cfg.Entrypoint); n > 0 && len(c.Args) >= n && slices.Equal(c.Args[:n], cfg.Entrypoint) {
		cfg.Cmd = slices.Clone(c.Args[n:])
	} else {
		cfg.Entrypoint, cfg.Cmd = nil, slices.Clone(c.Args)
	}
	// What lade added at create for the process alone (docker adds it to
	// the process, not the config) stays out, unless the image has it.
	base := cfg.Env
	cfg.Env = slices.DeleteFunc(slices.Clone(c.Env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return (kv == "HOSTNAME="+c.Hostname || k == "HOME" || kv == "TERM=xterm" && c.Tty) &&
			!slices.ContainsFunc(base, func(b string) bool { return strings.HasPrefix(b, k+"=") })
	})
	// Defaults lade resolved ("/", uid 0) are not settings of the image.
	if c.Cwd != cfg.WorkingDir && (cfg.WorkingDir != "" || c.Cwd != "/") {
		cfg.WorkingDir = c.Cwd
	}
	if c.User != cfg.User && (cfg.User != "" || c.User != "0") {
		cfg.User = c.User
	}
	for k, v := range c.Labels {
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		cfg.Labels[k] = v
	}
}
