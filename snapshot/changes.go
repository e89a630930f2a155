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
// first), in tree order: whiteouts are deletions, paths the lowers show
// are changes, the rest additions. A directory the lowers show is a change
// when its mode or owner changed or something below it did (as in
// docker), not when overlay merely copied it up. exclude, if set, leaves
// out paths (relative) and all below them, as DiffOptions.Exclude.
func Changes(ctx context.Context, upper string, lowers []string, exclude func(rel string) bool) ([]Change, error) {
	d := &differ{ctx: ctx, upper: filepath.Clean(upper), lowers: lowers}
	var out []Change
	copiedUp := map[string]bool{}
	err := filepath.WalkDir(d.upper, func(p string, e fs.DirEntry, err error) error {
		if err != nil || p == d.upper {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, d.upper+"/")
		if exclude != nil && exclude(rel) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
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
				copiedUp["/"+rel] = e.IsDir() && d.copiedUp(rel, &st)
			}
			out = append(out, Change{"/" + rel, kind})
		}
		return nil
	})
	// Sorted as a tree walk ("/" before any other byte), a directory's
	// first descendant (if any) follows it.
	key := func(p string) string { return strings.ReplaceAll(p, "/", "\x00") }
	sort.Slice(out, func(i, j int) bool { return key(out[i].Path) < key(out[j].Path) })
	kept := out[:0]
	for i, c := range out {
		if !copiedUp[c.Path] || i+1 < len(out) && strings.HasPrefix(out[i+1].Path, c.Path+"/") {
			kept = append(kept, c)
		}
	}
	return kept, err
}
