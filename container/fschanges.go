package container

import (
	"context"
	"io"
	"path"
	"slices"
	"strings"

	dockercontainer "github.com/moby/moby/api/types/container"

	"github.com/lade-build/lade/snapshot"
)

// changeKinds maps snapshot's change letters to the Engine API's kinds.
var changeKinds = map[byte]dockercontainer.ChangeType{
	'A': dockercontainer.ChangeAdd,
	'C': dockercontainer.ChangeModify,
	'D': dockercontainer.ChangeDelete,
}

// Changes lists what c changed in its image's files (its overlay upper
// dir against the image's layers), sorted by path, as docker diff and the
// Engine API's container changes return them.
func (s *Store) Changes(ctx context.Context, c *Config) ([]dockercontainer.FilesystemChange, error) {
	upper, lowers := s.Layers(c)
	changes, err := snapshot.Changes(ctx, upper, lowers, c.mountpoint)
	if err != nil {
		return nil, err
	}
	out := make([]dockercontainer.FilesystemChange, 0, len(changes))
	for _, ch := range changes {
		out = append(out, dockercontainer.FilesystemChange{Kind: changeKinds[ch.Kind], Path: ch.Path})
	}
	return out, nil
}

// Export writes c's whole filesystem, image and changes, as a tar to w
// (docker export): mounts of volumes and binds are not in it.
func (s *Store) Export(ctx context.Context, c *Config, w io.Writer) error {
	return s.WithRootfs(c, func(rootfs string) error {
		return snapshot.Archive(ctx, rootfs, "", true, w)
	})
}

// etcFiles are the files WriteEtc binds into every container.
var etcFiles = []string{"etc/hosts", "etc/hostname", "etc/resolv.conf"}

// mountpoint tells whether rel (relative to the root) is where c mounts
// something, /proc, /dev, /sys, its /etc files and volumes: while c runs,
// its upper dir holds stubs there, which are no changes of c's (docker
// keeps them in a layer of its own).
func (c *Config) mountpoint(rel string) bool {
	switch rel {
	case "proc", "dev", "sys":
		return true
	}
	if slices.Contains(etcFiles, rel) {
		return true
	}
	return slices.ContainsFunc(c.Mounts, func(m Mount) bool { return strings.TrimPrefix(path.Clean(m.Target), "/") == rel })
}
