package attest

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"sync"

	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/package-url/packageurl-go"

	"github.com/lade-build/lade/fileop"
)

// imagePURL is an image reference as a docker package URL, as BuildKit
// names subjects and dependencies: pkg:docker/NS/NAME@TAG?platform=OS/ARCH.
func imagePURL(ref string, p *v1.Platform) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", fmt.Errorf("parsing %q: %w", ref, err)
	}
	var qs packageurl.Qualifiers
	if c, ok := named.(reference.Canonical); ok {
		qs = append(qs, packageurl.Qualifier{Key: "digest", Value: c.Digest().String()})
	} else {
		named = reference.TagNameOnly(named)
	}
	version := ""
	if t, ok := named.(reference.Tagged); ok {
		version = t.Tag()
	}
	name := reference.FamiliarName(named)
	ns := ""
	if i := strings.LastIndex(name, "/"); i >= 0 {
		ns, name = name[:i], name[i+1:]
	}
	if p != nil && p.OS != "" {
		qs = append(qs, packageurl.Qualifier{Key: "platform", Value: platformString(*p)})
	}
	return packageurl.NewPackageURL(packageurl.TypeDocker, ns, name, version, qs, "").ToString(), nil
}

// ImageSource is the solver's base image resolver (solver.ImageSource).
type ImageSource interface {
	Resolve(ctx context.Context, ref string, platform v1.Platform) (v1.Image, error)
}

// Recorder is an ImageSource that remembers every base image it
// resolved, with the digest of the manifest it returned.
type Recorder struct {
	Source ImageSource
	mu     sync.Mutex
	bases  []Base
}

// Resolve implements ImageSource.
func (r *Recorder) Resolve(ctx context.Context, ref string, p v1.Platform) (v1.Image, error) {
	img, err := r.Source.Resolve(ctx, ref, p)
	if err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.bases = append(r.bases, Base{Ref: ref, Platform: p, Digest: d})
	r.mu.Unlock()
	return img, nil
}

// Bases are the images resolved for platform p.
func (r *Recorder) Bases(p v1.Platform) []Base {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Base
	for _, b := range r.bases {
		if b.Platform.OS == p.OS && b.Platform.Architecture == p.Architecture && b.Platform.Variant == p.Variant {
			out = append(out, b)
		}
	}
	return out
}

// ContextDigest is the digest of what the build can read of the context
// dir: its files less what .dockerignore leaves out, as a COPY of "."
// would see them (fileop.Checksum).
func ContextDigest(ctx context.Context, dir, dockerfilePath string, sc *fileop.StatCache) (string, error) {
	patterns, err := fileop.ReadDockerignore(dir, dockerfilePath)
	if err != nil {
		return "", err
	}
	m, err := fileop.NewMatcher(patterns)
	if err != nil {
		return "", err
	}
	return fileop.Checksum(ctx, fileop.Source{Root: dir, Ignore: m}, []string{"."}, sc)
}

// GitInfo reads the checkout dir is in with the git binary: the HEAD
// commit, the origin remote (credentials removed) and whether the tree
// has changes. It is nil when dir is not in a checkout or git is absent.
func GitInfo(ctx context.Context, dir string) *Git {
	run := func(args ...string) (string, bool) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err == nil
	}
	commit, ok := run("rev-parse", "--verify", "HEAD")
	if !ok || commit == "" {
		return nil
	}
	g := &Git{Commit: commit}
	if remote, ok := run("remote", "get-url", "origin"); ok {
		g.Remote = redact(remote)
	}
	if st, ok := run("status", "--porcelain", "--untracked-files=no"); ok && st != "" {
		g.Dirty = true
	}
	return g
}

// redact drops the user info of a URL remote: a token in it must not be
// published in the provenance (BuildKit's urlutil does the same).
func redact(remote string) string {
	u, err := url.Parse(remote)
	if err != nil || u.User == nil || u.Scheme == "" {
		return remote
	}
	u.User = nil
	return u.String()
}
