package dockercp

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/lade-build/lade/container"
)

// InContainer runs fn with path p in container c's root filesystem,
// mounted for the while if c is stopped, and its volumes and binds; ref
// names c in errors.
func InContainer(store *container.Store, c *container.Container, ref, p string, fn func(Endpoint) error) error {
	var mounts []Mount
	for _, m := range c.Mounts {
		if m.Source != "" { // volumes and binds; a tmpfs is the container's alone
			mounts = append(mounts, Mount{Target: m.Target, Source: m.Source, ReadOnly: m.ReadOnly})
		}
	}
	return store.WithRootfs(&c.Config, func(root string) error {
		return fn(Endpoint{Root: root, Path: p, Name: ref, ReadOnly: c.ReadOnly, Mounts: mounts})
	})
}

// Stat describes e.Path in its container as docker's archive endpoints
// do (the X-Docker-Container-Path-Stat header): the entry itself, a
// symlink not followed, with the container path a symlink resolves to.
// A missing path is an fs.ErrNotExist.
func Stat(e Endpoint) (ctypes.PathStat, error) {
	host, err := e.resolve(e.Path, false)
	if err != nil {
		return ctypes.PathStat{}, err
	}
	root, _, _ := e.locate(e.Path, false)
	host, parent, err := pin(root, host)
	if err != nil {
		return ctypes.PathStat{}, notFound(e, err)
	}
	if parent != nil {
		defer parent.Close()
	}
	fi, err := os.Lstat(host)
	if err != nil {
		return ctypes.PathStat{}, notFound(e, err)
	}
	st := ctypes.PathStat{Name: path.Base(path.Clean("/" + e.Path)), Size: fi.Size(), Mode: fi.Mode(), Mtime: fi.ModTime()}
	if fi.Mode()&fs.ModeSymlink != 0 {
		to, err := e.resolve(e.Path, true)
		if err != nil {
			return ctypes.PathStat{}, err
		}
		troot, _, m := e.locate(e.Path, true)
		rel, err := filepath.Rel(troot, to)
		if err != nil {
			return ctypes.PathStat{}, err
		}
		st.LinkTarget = path.Join("/", rel)
		if m != nil {
			st.LinkTarget = path.Join(m.Target, rel)
		}
	}
	return st, nil
}

// notFound says a missing path with docker's words, still an
// fs.ErrNotExist.
func notFound(e Endpoint, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return notFoundError("Could not find the file " + e.Path + e.where())
	}
	return err
}

type notFoundError string

func (e notFoundError) Error() string        { return string(e) }
func (e notFoundError) Is(target error) bool { return target == fs.ErrNotExist }
