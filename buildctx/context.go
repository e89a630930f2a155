package buildctx

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lade-build/lade/internal/decompress"
	"github.com/lade-build/lade/internal/owned"
	"github.com/lade-build/lade/internal/untar"
)

// Context is a build context ready on disk.
type Context struct {
	// Dir is the context directory.
	Dir string
	// Dockerfile is set when the source itself was a Dockerfile (stdin,
	// or a URL that serves a text file): the context is then empty.
	Dockerfile []byte
	// Remote is true for every source but a local directory: a -f path
	// names a file inside Dir, as docker reads it, not one on the host.
	Remote bool
	tmp    *owned.Dir // removed by Close
}

// Close removes what Open unpacked.
func (c *Context) Close() error {
	if c == nil || c.tmp == nil {
		return nil
	}
	return c.tmp.Remove()
}

// Open makes the context that arg names ready: "-" reads stdin (a tar,
// possibly compressed, or a Dockerfile), a git URL is cloned, an http(s)
// URL is downloaded, anything else is a local directory. Remote sources
// are unpacked under scratch.
func Open(ctx context.Context, arg string, stdin io.Reader, scratch string) (*Context, error) {
	switch {
	case arg == "-":
		return fromStream(ctx, stdin, scratch)
	case IsGitURL(arg):
		return fromGit(ctx, arg, scratch)
	case IsHTTPURL(arg):
		return fromURL(ctx, arg, scratch)
	}
	dir, err := filepath.Abs(arg)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("unable to prepare context: path %q not found or not a directory", arg)
	}
	return &Context{Dir: dir}, nil
}

// scratchPrefix names the context directories under the scratch dir.
const scratchPrefix = "context-"

// newContext makes an empty context directory under scratch, owned by
// this process: those of killed processes are removed first.
func newContext(scratch string) (*Context, error) {
	if err := os.MkdirAll(scratch, 0o700); err != nil {
		return nil, err
	}
	if err := owned.Sweep(scratch, scratchPrefix); err != nil {
		return nil, err
	}
	tmp, err := owned.New(scratch, scratchPrefix)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(tmp.Path, "context")
	if err := os.Mkdir(dir, 0o755); err != nil {
		tmp.Remove()
		return nil, err
	}
	return &Context{Dir: dir, Remote: true, tmp: tmp}, nil
}

// maxDockerfile bounds a Dockerfile read from a stream, as the parser's
// own limit does.
const maxDockerfile = 16 << 20

// fromStream reads a tar (possibly compressed) into a new context, or,
// when r is not an archive, takes it as the Dockerfile of an empty
// context, as docker build - does.
func fromStream(ctx context.Context, r io.Reader, scratch string) (*Context, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	archive, err := isArchive(br)
	if err != nil {
		return nil, fmt.Errorf("reading context from stdin: %w", err)
	}
	c, err := newContext(scratch)
	if err != nil {
		return nil, err
	}
	if !archive {
		c.Dockerfile, err = io.ReadAll(io.LimitReader(br, maxDockerfile+1))
		if err == nil && len(c.Dockerfile) > maxDockerfile {
			err = fmt.Errorf("dockerfile larger than %d bytes", maxDockerfile)
		}
	} else {
		err = Untar(ctx, br, c.Dir)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("reading context: %w", err)
	}
	return c, nil
}

// isArchive tells from br's first bytes whether it holds a tar: a
// compressed stream is taken as one; a plain one must start with a tar
// header (as docker's DetectArchiveReader decides).
func isArchive(br *bufio.Reader) (bool, error) {
	k, err := decompress.Sniff(br)
	if errors.Is(err, decompress.ErrEmpty) {
		return false, nil
	}
	if err != nil || k != decompress.None {
		return k != decompress.None, err
	}
	head, err := br.Peek(1024)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	// The ustar magic (POSIX and GNU), else a header that parses (v7).
	if len(head) >= 262 && bytes.Equal(head[257:262], []byte("ustar")) {
		return true, nil
	}
	_, terr := tar.NewReader(bytes.NewReader(head)).Next()
	return terr == nil, nil
}

// Untar unpacks r, a tar possibly compressed, into dir: no entry can
// reach outside it.
func Untar(ctx context.Context, r io.Reader, dir string) error {
	rc, err := decompress.Reader(ctx, r)
	if err != nil {
		return err
	}
	defer rc.Close()
	// COPY gives context files root's ownership anyway (docker's rule), so
	// the entries are owned by whoever runs lade: an unprivileged user
	// cannot chown to the archive's ids.
	self := &untar.Owner{UID: os.Getuid(), GID: os.Getgid()}
	return untar.Extract(ctx, rc, dir, untar.Options{Kind: "tar", Dest: "context", SkipRoot: true, Owner: self})
}
