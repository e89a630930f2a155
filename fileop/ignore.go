package fileop

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// ReadDockerignore returns the ignore patterns for a build. A
// "<dockerfile>.dockerignore" next to the Dockerfile wins over
// CONTEXT/.dockerignore; when neither exists the result is nil.
func ReadDockerignore(contextDir, dockerfilePath string) ([]string, error) {
	if dockerfilePath != "" {
		p := dockerfilePath + ".dockerignore"
		f, err := os.Open(p)
		if err == nil {
			defer f.Close()
			pats, err := ignorefile.ReadAll(f)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", p, err)
			}
			return pats, nil
		}
		if !os.IsNotExist(err) {
			return nil, fmt.Errorf("open dockerignore: %w", err)
		}
	}
	// The context copy is read in-root: a .dockerignore symlink must not
	// pull in a file from outside the context.
	p, err := securejoin.SecureJoin(contextDir, ".dockerignore")
	if err != nil {
		return nil, fmt.Errorf("resolve .dockerignore: %w", err)
	}
	f, err := os.Open(p)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open .dockerignore: %w", err)
	}
	defer f.Close()
	pats, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read .dockerignore: %w", err)
	}
	return pats, nil
}

// Matcher decides which context-relative paths are excluded by a set of
// .dockerignore (or --exclude) patterns. It is safe for concurrent use.
type Matcher struct {
	mu sync.Mutex // patternmatcher compiles lazily and is not concurrency-safe
	pm *patternmatcher.PatternMatcher
}

// NewMatcher compiles patterns with patternmatcher semantics. Patterns are
// normalised like ignorefile.ReadAll does, so "/a", "./a" and "a" agree.
func NewMatcher(patterns []string) (*Matcher, error) {
	var norm []string
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		invert := p[0] == '!'
		if invert {
			p = strings.TrimSpace(p[1:])
		}
		if p != "" {
			p = filepath.ToSlash(filepath.Clean(p))
			if len(p) > 1 && p[0] == '/' {
				p = p[1:]
			}
		}
		if invert {
			p = "!" + p
		}
		norm = append(norm, p)
	}
	pm, err := patternmatcher.New(norm)
	if err != nil {
		return nil, fmt.Errorf("compile patterns: %w", err)
	}
	return &Matcher{pm: pm}, nil
}

// Excluded reports whether the relative path rel is excluded, either
// directly or through one of its parents. A nil Matcher excludes nothing.
// isDir is accepted for callers' clarity; patternmatcher treats files and
// directories alike.
func (m *Matcher) Excluded(rel string, isDir bool) (bool, error) {
	_ = isDir
	if m.empty() {
		return false, nil
	}
	rel = cleanRel(rel)
	if rel == "" {
		return false, nil
	}
	m.mu.Lock()
	ok, err := m.pm.MatchesOrParentMatches(rel)
	m.mu.Unlock()
	if err != nil {
		return false, fmt.Errorf("match %s: %w", rel, err)
	}
	return ok, nil
}

// empty reports whether m excludes nothing (nil, or no patterns): the
// check a walk makes per entry before it pays for a path to match.
func (m *Matcher) empty() bool {
	return m == nil || len(m.pm.Patterns()) == 0
}

// Exclusions reports whether any "!" pattern exists, in which case an
// excluded directory may still hold re-included children and must be walked.
func (m *Matcher) Exclusions() bool {
	return m != nil && m.pm.Exclusions()
}

// cleanRel turns "/a/b", "./a/b" and "a/b/" into "a/b"; the root is "".
func cleanRel(rel string) string {
	rel = path.Clean("/" + filepath.ToSlash(rel))
	return strings.TrimPrefix(rel, "/")
}
