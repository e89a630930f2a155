package fileop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// ErrNotFound is wrapped by errors for sources that do not exist.
var ErrNotFound = errors.New("not found")

// Owner is a numeric uid:gid pair.
type Owner struct{ UID, GID int }

// Source is the tree COPY/ADD reads from.
type Source struct {
	Root      string   // context dir, or another stage's/image's rootfs dir
	Ignore    *Matcher // nil = nothing ignored (used for the build context)
	KeepOwner bool     // false: files become 0:0 like BuildKit does for the context; true: ownership preserved (--from)
	// Sent is set for the build context: the context paths the build
	// reads (COPY/ADD sources, RUN bind mounts). BuildKit transfers only
	// what they match, so a directory none of them reaches is missing (see
	// sent); nil means the whole tree is there.
	Sent []string
}

// CopyOptions describes one COPY or ADD instruction.
type CopyOptions struct {
	Src      Source
	Paths    []string // sources as written; may contain wildcards; "/" prefix means the source root
	DestRoot string   // the rootfs being written
	Dest     string   // absolute path inside DestRoot; a trailing "/" is meaningful
	Chown    *Owner   // nil: context -> 0:0, --from keeps ownership
	Chmod    string   // "" none; octal ("0750") or symbolic ("u+x,g-w")
	Parents  bool     // COPY --parents, with the optional "/./" pivot
	Exclude  []string // --exclude patterns, matched relative to each copied source
	Add      bool     // ADD: local tar archives (any compression) are extracted into Dest
	Limit    *Limit   // ADD: bounds what archives expand to; nil bounds nothing
	// SourceDateEpoch, when set, clamps the mtimes (and atimes) written.
	SourceDateEpoch *time.Time

	literal bool // Paths have no wildcards (fetched URL file names)
}

type copier struct {
	ctx     context.Context
	opts    CopyOptions
	srcRoot string
	dstRoot string
	mode    modeFunc
	exclude *Matcher
	include *Matcher // --parents pattern; nil copies everything
	incPat  string
	links   map[[2]uint64]string
	line    []byte // Checksum's entry buffer, reused

	// Set while a directory is copied (see startPool).
	group *errgroup.Group
	gctx  context.Context
	dirs  []*dirNode  // walked dirs whose metadata waits for the pool
	noCFR atomic.Bool // copy_file_range failed: use read/write
}

// srcMatch is one resolved source: name is the in-root path as matched
// (symlinks not resolved), real the host path with symlinks resolved in-root.
type srcMatch struct {
	name string
	real string
}

// Copy performs COPY/ADD of local sources with BuildKit's semantics. See
// CopyOptions for the knobs; destination and ownership rules follow the
// Dockerfile frontend (CopyDirContentsOnly, FollowSymlinks, CreateDestPath,
// AllowWildcard, AllowEmptyWildcard).
func Copy(ctx context.Context, opts CopyOptions) error {
	if opts.Src.Root == "" || opts.DestRoot == "" {
		return errors.New("copy: source root and destination root are required")
	}
	srcRoot, err := filepath.EvalSymlinks(opts.Src.Root)
	if err != nil {
		return fmt.Errorf("copy: source root: %w", err)
	}
	dstRoot, err := filepath.EvalSymlinks(opts.DestRoot)
	if err != nil {
		return fmt.Errorf("copy: destination root: %w", err)
	}
	mf, err := parseChmod(opts.Chmod)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	var ex *Matcher
	if len(opts.Exclude) > 0 {
		if ex, err = NewMatcher(opts.Exclude); err != nil {
			return fmt.Errorf("copy: exclude: %w", err)
		}
	}
	c := &copier{
		ctx: ctx, opts: opts, srcRoot: srcRoot, dstRoot: dstRoot,
		mode: mf, exclude: ex, links: map[[2]uint64]string{},
	}
	dest := opts.Dest
	if dest == "" {
		dest = "/"
	}
	if !strings.HasPrefix(dest, "/") {
		dest = "/" + dest
	}
	// Several sources or a wildcard always mean "into this directory".
	if !strings.HasSuffix(dest, "/") && !opts.Parents {
		multi := len(opts.Paths) > 1
		for _, p := range opts.Paths {
			multi = multi || (!opts.literal && hasWildcard(p))
		}
		if multi {
			dest += "/"
		}
	}
	for _, p := range opts.Paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		if opts.Parents {
			err = c.copyParents(p, dest)
		} else {
			err = c.copyPath(p, dest)
		}
		if err != nil {
			return fmt.Errorf("copy %s: %w", p, err)
		}
	}
	return nil
}

func (c *copier) copyPath(p, dest string) error {
	matches, err := c.resolve(p)
	if err != nil {
		return err
	}
	for _, m := range matches {
		// --exclude also filters the named sources themselves, matched by
		// their path in the source root (as <src> is written).
		if ex, err := c.exclude.Excluded(m.name, false); err != nil {
			return err
		} else if ex {
			fi, err := os.Stat(m.real)
			if err != nil || !fi.IsDir() || !c.exclude.Exclusions() {
				continue
			}
		}
		if c.opts.Add {
			ok, err := c.maybeExtract(m, dest)
			if err != nil {
				return err
			}
			if ok {
				continue
			}
		}
		if err := c.copyTop(m, dest); err != nil {
			return err
		}
	}
	return nil
}

// copyParents implements --parents: the part after the "/./" pivot (or the
// whole path) is kept below dest, matched as an include pattern.
func (c *copier) copyParents(p, dest string) error {
	base, pattern, ok := strings.Cut(p, "/./")
	if !ok {
		base, pattern = "/", p
	}
	pattern = cleanRel(pattern)
	if !hasWildcard(base) && !hasWildcard(pattern) {
		if _, err := c.resolve(path.Join("/", base, pattern)); err != nil {
			return err
		}
	}
	bases, err := c.resolve(base)
	if err != nil {
		return err
	}
	if pattern != "" {
		if c.include, err = NewMatcher([]string{pattern}); err != nil {
			return err
		}
		c.incPat = pattern
	}
	defer func() { c.include, c.incPat = nil, "" }()
	for _, b := range bases {
		if err := c.copyTop(b, dest); err != nil {
			return err
		}
	}
	return nil
}

// resolve expands p (wildcards allowed) against the source root. A literal
// path that is missing or ignored is an error; a wildcard may match nothing,
// but the directory it is in must exist (see checkPrefix).
func (c *copier) resolve(p string) ([]srcMatch, error) {
	clean := path.Clean("/" + filepath.ToSlash(p))
	if c.opts.literal || !hasWildcard(clean) {
		real, err := securejoin.SecureJoin(c.srcRoot, clean)
		if err != nil {
			return nil, err
		}
		fi, err := os.Lstat(real)
		if err != nil {
			if os.IsNotExist(err) || errors.Is(err, unix.ENOTDIR) {
				return nil, fmt.Errorf("%q: %w", clean, ErrNotFound)
			}
			return nil, err
		}
		vis, err := c.visible(real, fi.IsDir())
		if err != nil {
			return nil, err
		}
		if !vis {
			return nil, fmt.Errorf("%q: %w", clean, ErrNotFound)
		}
		return []srcMatch{{name: clean, real: real}}, nil
	}
	prefix, err := c.checkPrefix(clean)
	if err != nil {
		return nil, err
	}
	out, err := c.glob(clean)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 && prefix != "/" && !c.sent(prefix) {
		return nil, &os.PathError{Op: "lstat", Path: prefix, Err: unix.ENOENT}
	}
	return out, nil
}

// glob lists the visible paths of the source root that the pattern clean
// matches, in name order.
func (c *copier) glob(clean string) ([]srcMatch, error) {
	cands := []string{"/"}
	for _, comp := range strings.Split(strings.TrimPrefix(clean, "/"), "/") {
		var next []string
		for _, cand := range cands {
			if !hasWildcard(comp) {
				next = append(next, path.Join(cand, comp))
				continue
			}
			dir, err := securejoin.SecureJoin(c.srcRoot, cand)
			if err != nil {
				return nil, err
			}
			ents, err := os.ReadDir(dir)
			if err != nil {
				continue // not a directory or gone: contributes no matches
			}
			for _, e := range ents {
				ok, err := filepath.Match(comp, e.Name())
				if err != nil {
					return nil, fmt.Errorf("bad pattern %q: %w", clean, err)
				}
				if ok {
					next = append(next, path.Join(cand, e.Name()))
				}
			}
		}
		cands = next
	}
	sort.Strings(cands)
	var out []srcMatch
	for _, cand := range cands {
		real, err := securejoin.SecureJoin(c.srcRoot, cand)
		if err != nil {
			return nil, err
		}
		fi, err := os.Lstat(real)
		if err != nil {
			continue
		}
		if vis, err := c.visible(real, fi.IsDir()); err != nil {
			return nil, err
		} else if vis {
			out = append(out, srcMatch{name: cand, real: real})
		}
	}
	return out, nil
}

// visible reports whether a resolved source path survives Src.Ignore. An
// excluded dir stays visible when "!" patterns may re-include its children.
func (c *copier) visible(real string, isDir bool) (bool, error) {
	ig := c.opts.Src.Ignore
	if ig.empty() {
		return true, nil
	}
	ex, err := ig.Excluded(c.srcRel(real), isDir)
	if err != nil || !ex {
		return err == nil, err
	}
	return isDir && ig.Exclusions(), nil
}

func (c *copier) srcRel(real string) string {
	return cleanRel(strings.TrimPrefix(real, c.srcRoot))
}

// copyTop copies one resolved source to dest following BuildKit's rules:
// dirs copy their contents, files land in dest when it is a directory.
func (c *copier) copyTop(m srcMatch, dest string) error {
	clean := path.Clean(dest)
	var err error
	if strings.HasSuffix(dest, "/") {
		_, err = c.mkdirAll(clean)
	} else {
		_, err = c.mkdirAll(path.Dir(clean))
	}
	if err != nil {
		return err
	}
	dst, err := securejoin.SecureJoin(c.dstRoot, clean)
	if err != nil {
		return err
	}
	st, err := lstat(m.real)
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		n := &dirNode{src: m.real, dst: dst, st: st, keep: true}
		if err := c.ensure(n); err != nil {
			return err
		}
		c.startPool()
		err := c.walkDir(n, walkState{ignRel: c.srcRel(m.real)})
		if err == nil {
			err = c.finishDir(n)
		}
		return c.drain(err)
	}
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		dst = filepath.Join(dst, path.Base(m.name))
	}
	return c.copyEntry(m.real, dst, st)
}

// mkdirAll creates the in-root directory p (and parents) in DestRoot,
// resolving existing symlinks in-root. New dirs are 0755 and owned by
// Chown (or root); existing ones are left alone. It returns the host path.
func (c *copier) mkdirAll(p string) (string, error) {
	cur := "/"
	real := c.dstRoot
	for _, comp := range strings.Split(strings.TrimPrefix(path.Clean(p), "/"), "/") {
		if comp == "" {
			continue
		}
		var err error
		real, err = securejoin.SecureJoin(c.dstRoot, path.Join(cur, comp))
		if err != nil {
			return "", err
		}
		fi, err := os.Lstat(real)
		resolved := "/" + cleanRel(strings.TrimPrefix(real, c.dstRoot))
		switch {
		case os.IsNotExist(err) && resolved != path.Join(cur, comp):
			// A dangling symlink: create its in-root target instead.
			if _, err := c.mkdirAll(resolved); err != nil {
				return "", err
			}
		case os.IsNotExist(err):
			if err := os.Mkdir(real, 0o755); err != nil {
				return "", fmt.Errorf("mkdir %s: %w", p, err)
			}
			uid, gid := 0, 0
			if c.opts.Chown != nil {
				uid, gid = c.opts.Chown.UID, c.opts.Chown.GID
			}
			if err := os.Lchown(real, uid, gid); err != nil {
				return "", err
			}
			if err := unix.Chmod(real, 0o755); err != nil { // umask-proof
				return "", err
			}
			if e := c.opts.SourceDateEpoch; e != nil {
				if err := os.Chtimes(real, *e, *e); err != nil {
					return "", err
				}
			}
		case err != nil:
			return "", err
		case !fi.IsDir():
			return "", fmt.Errorf("mkdir %s: %s is not a directory", p, path.Join(cur, comp))
		}
		cur = resolved
	}
	return real, nil
}

func hasWildcard(s string) bool {
	return strings.ContainsAny(s, "*?[")
}
