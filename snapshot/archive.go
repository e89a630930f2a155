package snapshot

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"path/filepath"
)

// Archive writes the file or directory tree src as an uncompressed tar to
// w, with Diff's headers (owners, modes, xattrs, hardlinks), for cp and
// export. src itself is not followed if it is a symlink, nor is any
// symlink below it, even one that replaces a directory while Archive
// walks the tree: each directory is opened once (O_NOFOLLOW) and its
// entries reached through that descriptor. Its entry is named name, a directory's children
// name/...; with contents, only a directory's children are written, named
// name/... (at the top when name is "").
func Archive(ctx context.Context, src, name string, contents bool, w io.Writer) error {
	d := &differ{ctx: ctx, tw: tar.NewWriter(w), links: map[inode]string{}, plain: true}
	src = filepath.Clean(src)
	var err error
	if contents {
		err = d.walkChildren(src, name, nil)
	} else {
		err = d.walk(src, name, nil)
	}
	if err == nil {
		err = d.tw.Close()
	}
	if err != nil {
		return fmt.Errorf("archiving %s: %w", src, err)
	}
	return nil
}
