package buildctx

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// gitURL matches what docker and buildx take as a git repository: a
// git:// or ssh:// URL, scp-like git@host:path, a github.com/ path, or
// an http(s) URL whose path ends in .git (before any #fragment).
var gitURL = regexp.MustCompile(`^(git://|ssh://|git@[^:]+:|github\.com/|https?://[^#]+\.git(#|$))`)

// IsGitURL tells whether s names a git repository.
func IsGitURL(s string) bool { return gitURL.MatchString(s) }

// IsHTTPURL tells whether s is an http(s) URL (not a git one).
func IsHTTPURL(s string) bool {
	return (strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")) && !IsGitURL(s)
}

// GitRef is a git context: the repository, and from the #fragment the
// ref (branch, tag or commit; empty for the remote's HEAD) and the
// subdirectory that is the context.
type GitRef struct {
	Remote, Ref, Subdir string
}

// ParseGitURL splits URL#ref:subdir.
func ParseGitURL(s string) GitRef {
	remote, frag, _ := strings.Cut(s, "#")
	if strings.HasPrefix(remote, "github.com/") {
		remote = "https://" + remote
	}
	ref, sub, _ := strings.Cut(frag, ":")
	return GitRef{Remote: remote, Ref: ref, Subdir: sub}
}

// fromGit clones the repository into a new context and makes the
// fragment's subdirectory the context.
func fromGit(ctx context.Context, s, scratch string) (*Context, error) {
	g := ParseGitURL(s)
	c, err := newContext(scratch)
	if err != nil {
		return nil, err
	}
	if err := Clone(ctx, g, c.Dir); err != nil {
		c.Close()
		return nil, err
	}
	if g.Subdir != "" {
		sub, err := securejoin.SecureJoin(c.Dir, g.Subdir)
		if err == nil {
			var fi os.FileInfo
			if fi, err = os.Stat(sub); err == nil && !fi.IsDir() {
				err = fmt.Errorf("not a directory")
			}
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("git context %s: subdirectory %q: %w", g.Remote, g.Subdir, err)
		}
		c.Dir = sub
	}
	return c, nil
}

// Clone checks g out into the empty directory dir, without its .git
// (as BuildKit's git source). It fetches only the ref's commit when the
// server allows it, else the whole history.
func Clone(ctx context.Context, g GitRef, dir string) error {
	if strings.HasPrefix(g.Ref, "-") || strings.HasPrefix(g.Remote, "-") {
		// git would take it for an option (--upload-pack runs a command).
		return fmt.Errorf("invalid git reference %q", g.Remote+"#"+g.Ref)
	}
	git := func(args ...string) error { return runGit(ctx, dir, args...) }
	ref := g.Ref
	if ref == "" {
		ref = "HEAD"
	}
	if err := git("init", "-q"); err != nil {
		return err
	}
	if err := git("remote", "add", "origin", g.Remote); err != nil {
		return err
	}
	if git("fetch", "-q", "--depth=1", "--no-tags", "origin", ref) != nil {
		// A commit the server will not serve by itself, or a dumb server:
		// the full history has it.
		if err := git("fetch", "-q", "--tags", "origin", "+refs/heads/*:refs/remotes/origin/*", "+HEAD:refs/remotes/origin/HEAD"); err != nil {
			return err
		}
		if ref == "HEAD" {
			ref = "origin/HEAD"
		}
		if err := git("checkout", "-q", ref); err != nil {
			return err
		}
	} else if err := git("checkout", "-q", "FETCH_HEAD"); err != nil {
		return err
	}
	if err := git("submodule", "update", "-q", "--init", "--recursive", "--depth=1"); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(dir, ".git"))
}

// runGit runs git in dir, never prompting for credentials.
func runGit(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-c", "advice.detachedHead=false", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
