package snapshot

import (
	"context"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Change is one path an upper dir changes, as docker diff lists it.
type Change struct {
	Path string // absolute, as seen in the container
	Kind byte   // 'A' added, 'C' changed, 'D' deleted
}

// Changes lists what the overlay upper dir changes in lowers (top-most
// first), sorted by path: whiteouts are deletions, paths the lowers show
// are changes (a directory that holds a change is one too, as in
// docker), the rest additions.
func Changes(ctx context.Context, upper string, lowers []string) ([]Change, error) {
	d := &differ{ctx: ctx, upper: filepath.Clean(upper), lowers: lowers}
	var out []Change
	err := filepath.WalkDir(d.upper, func(p string, _ fs.DirEntry, err error) error {
		if err != nil || p == d.upper {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, d.upper+"/")
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return &fs.PathError{Op: "lstat", Path: p, Err: err}
		}
		base := path.Base(rel)
		switch name, ok := fileWhiteout(base, &st); {
		case st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0:
			out = append(out, Change{"/" + rel, 'D'})
		case ok:
			out = append(out, Change{"/" + path.Join(path.Dir(rel), name), 'D'})
		case strings.HasPrefix(base, whiteoutMeta):
			// an opaque marker in file form: its directory is listed
		default:
			kind := byte('A')
			if _, found := d.lowerStat(rel); found {
				kind = 'C'
			}
			out = append(out, Change{"/" + rel, kind})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}
