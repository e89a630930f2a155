package dockercp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/cyphar/filepath-securejoin/pathrs-lite"

	"github.com/lade-build/lade/internal/decompress"
	"github.com/lade-build/lade/internal/untar"
	"github.com/lade-build/lade/snapshot"
)

// Endpoint is one side of a copy: a host path, or a path in a container
// whose merged root filesystem is at Root on the host.
type Endpoint struct {
	Root string // "" for the host
	Path string // as the user wrote it: a trailing "/" or "/." matters
	Name string // the container's name, for errors
	// ReadOnly: the container's root is read-only (run --read-only),
	// so nothing is copied into it but into its writable mounts.
	ReadOnly bool
	// Mounts are the container's volumes and bind mounts, which a copy
	// reaches through their host sources, as docker cp does.
	Mounts []Mount
}

func (e Endpoint) inContainer() bool { return e.Root != "" }

// Options are docker cp's flags.
type Options struct {
	Archive    bool // -a: keep the entries' uid and gid
	FollowLink bool // -L: follow a source that is a symlink
}

// source is a resolved copy source.
type source struct {
	host     string // where it is on the host
	dir      bool
	contents bool // "dir/.": the directory's children, not itself
	parent   *os.File
}

// close releases the source's parent directory, if it holds one.
func (s source) close() {
	if s.parent != nil {
		s.parent.Close()
	}
}

// pin makes host, a path resolved in root, one that no later change of
// root's directories can redirect: its parent directory is opened inside
// root (pathrs-lite: openat2's RESOLVE_IN_ROOT where the kernel has it),
// and the path goes through that descriptor. A running container can
// swap a directory for a symlink at any time; the archive's walk below
// is safe the same way (snapshot.Archive).
func pin(root, host string) (string, *os.File, error) {
	rel, err := filepath.Rel(root, host)
	if err != nil || rel == "." {
		return host, nil, err // the root itself is lade's own
	}
	dir, err := pathrs.OpenInRoot(root, filepath.Dir(rel))
	if err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(rel)), dir, nil
}

// resolve finds the host path of p in e (the host, or e's container with
// its mounts). Every symlink on the way resolves inside the container's
// root, or the mount's source; the last one is only followed with follow.
func (e Endpoint) resolve(p string, follow bool) (string, error) {
	if !e.inContainer() {
		abs, err := filepath.Abs(p)
		if err != nil || !follow {
			return abs, err
		}
		if resolved, err := filepath.EvalSymlinks(abs); err == nil {
			return resolved, nil // the archive then holds what the link points at
		}
		return abs, nil // the stat says what is missing
	}
	root, clean, _ := e.locate(p, follow)
	if follow || clean == "/" {
		return securejoin.SecureJoin(root, clean)
	}
	dir, err := securejoin.SecureJoin(root, path.Dir(clean))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, path.Base(clean)), nil
}

func (e Endpoint) where() string {
	if e.inContainer() {
		return " in container " + e.Name
	}
	return ""
}

// statSource resolves and checks the source of a copy.
func statSource(e Endpoint, o Options) (source, error) {
	host, err := e.resolve(e.Path, o.FollowLink)
	if err != nil {
		return source{}, err
	}
	var parent *os.File
	if e.inContainer() {
		root, _, _ := e.locate(e.Path, o.FollowLink)
		host, parent, err = pin(root, host)
	}
	var fi os.FileInfo
	if err == nil {
		fi, err = os.Lstat(host) // resolved already, with -L up to its target
	}
	if errors.Is(err, fs.ErrNotExist) && e.inContainer() {
		err = fmt.Errorf("could not find the file %s%s", e.Path, e.where())
	}
	clean := path.Clean("/" + e.Path)
	if err == nil && !fi.IsDir() && (strings.HasSuffix(e.Path, "/") || strings.HasSuffix(e.Path, "/.") || clean == "/") {
		err = fmt.Errorf("%s%s: not a directory", e.Path, e.where())
	}
	if err != nil {
		if parent != nil {
			parent.Close()
		}
		return source{}, err
	}
	return source{host: host, dir: fi.IsDir(), contents: strings.HasSuffix(e.Path, "/.") || clean == "/", parent: parent}, nil
}

// target is where a copy's entries go: below dir (a host dir, or the
// container root), named name, or with contents, the source's children
// named name/...
type target struct {
	dir      string
	name     string
	contents bool
}

// destination applies docker's rules to place src at e.
func destination(src source, srcPath string, e Endpoint) (target, error) {
	host, err := e.resolve(e.Path, true)
	if err != nil {
		return target{}, err
	}
	fi, err := os.Stat(host)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return target{}, err
	}
	into, name := e.Path, path.Base(path.Clean("/"+srcPath)) // into an existing dir
	contents := false
	switch {
	case exists && fi.IsDir():
		if src.contents {
			name, contents = "", true
		}
	case exists && src.dir:
		return target{}, errors.New("cannot copy directory") // docker's words
	case !exists && !src.dir && strings.HasSuffix(e.Path, "/"):
		return target{}, errors.New("no such directory") // a file needs DEST/ to exist
	default: // a new or replaced file, or a new directory
		into, name = filepath.Dir(strings.TrimSuffix(e.Path, "/")), path.Base(strings.TrimSuffix(e.Path, "/"))
		parent, err := e.resolve(into, true)
		if err != nil {
			return target{}, err
		}
		if fi, err := os.Stat(parent); err != nil || !fi.IsDir() {
			return target{}, errors.New("no such directory")
		}
	}
	if !e.inContainer() {
		// On the host the destination is trusted: extract below it.
		dir, err := filepath.Abs(into)
		return target{dir: dir, name: name, contents: contents}, err
	}
	// In a container, extract below its root (or the mount's source) so
	// that untar resolves every entry, symlinks included, inside it.
	root, rel, _ := e.locate(into, true)
	return target{dir: root, name: path.Join(strings.TrimPrefix(rel, "/"), name), contents: contents}, nil
}

// Copy copies src to dst, one of them in a container.
func Copy(ctx context.Context, src, dst Endpoint, o Options) error {
	if err := dst.writable(); err != nil {
		return err
	}
	s, err := statSource(src, o)
	if err != nil {
		return err
	}
	defer s.close()
	t, err := destination(s, src.Path, dst)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := snapshot.Archive(ctx, s.host, t.name, t.contents, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	err = untar.Extract(ctx, pr, t.dir, extractOptions(dst, o))
	if err == nil {
		_, err = io.Copy(io.Discard, pr) // the tar's padding
	}
	pr.CloseWithError(errors.New("copy ended"))
	if aerr := <-done; err == nil {
		err = aerr
	}
	return err
}

// extractOptions: entries copied into a container belong to its root
// unless -a; on the host they keep the container's owners when lade is
// root (as docker's client does), else they are the user's.
func extractOptions(dst Endpoint, o Options) untar.Options {
	opts := untar.Options{Kind: "tar", Dest: "destination", SkipRoot: true}
	switch {
	case o.Archive:
	case dst.inContainer():
		opts.Owner = &untar.Owner{}
	case os.Geteuid() != 0:
		opts.Owner = &untar.Owner{UID: os.Getuid(), GID: os.Getgid()}
	}
	return opts
}

// WriteTar writes src as a tar to w, its entry named after it, as docker
// cp CONTAINER:PATH - does.
func WriteTar(ctx context.Context, src Endpoint, o Options, w io.Writer) error {
	s, err := statSource(src, o)
	if err != nil {
		return err
	}
	defer s.close()
	if s.contents {
		// "./" and "./NAME", as docker writes a directory's contents.
		return snapshot.Archive(ctx, s.host, ".", false, w)
	}
	return snapshot.Archive(ctx, s.host, path.Base(path.Clean("/"+src.Path)), false, w)
}

// ExtractTar extracts the tar r into dst, which must be a directory, as
// docker cp - CONTAINER:PATH does; r may be compressed (gzip, bzip2, xz,
// zstd), as dockerd's archive endpoint takes it (testcontainers sends
// gzip).
func ExtractTar(ctx context.Context, r io.Reader, dst Endpoint, o Options) error {
	if err := dst.writable(); err != nil {
		return err
	}
	host, err := dst.resolve(dst.Path, true)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(host); err != nil || !fi.IsDir() {
		return fmt.Errorf("destination %q must be a directory", dst.Name+":"+dst.Path)
	}
	plain, err := decompress.Reader(ctx, r)
	if err != nil {
		return err
	}
	defer plain.Close()
	return untar.Extract(ctx, plain, host, extractOptions(dst, o))
}
