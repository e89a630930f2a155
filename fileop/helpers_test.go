package fileop

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/testutil"
)

// node describes one fixture entry: a dir (path ends in "/"), a symlink
// (link set) or a file.
type node struct {
	path    string
	content string
	link    string
	mode    uint32
}

func file(p, content string) node         { return node{path: p, content: content, mode: 0o644} }
func fileMode(p, c string, m uint32) node { return node{path: p, content: c, mode: m} }
func dir(p string) node                   { return node{path: p + "/", mode: 0o755} }
func symlink(p, target string) node       { return node{path: p, link: target} }
func dirMode(p string, m uint32) node     { return node{path: p + "/", mode: m} }
func mkTree(t *testing.T, root string, nodes ...node) {
	t.Helper()
	for _, n := range nodes {
		p := filepath.Join(root, n.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case n.link != "":
			if err := os.Symlink(n.link, p); err != nil {
				t.Fatal(err)
			}
			continue
		case strings.HasSuffix(n.path, "/"):
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, []byte(n.content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := unix.Chmod(p, n.mode); err != nil {
			t.Fatal(err)
		}
	}
}

// listTree renders everything at and below sub (a path inside root) as
// "path type mode uid:gid content" lines, sorted.
func listTree(t *testing.T, root, sub string) []string {
	t.Helper()
	return testutil.Listing(t, filepath.Join(root, sub), func(p string, st *unix.Stat_t) (string, error) {
		rel, _ := filepath.Rel(root, p)
		line := "/" + rel
		perm := st.Mode & 0o7777
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			line += fmt.Sprintf(" dir %04o", perm)
		case unix.S_IFLNK:
			target, _ := os.Readlink(p)
			line += " link -> " + target
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return "", err
			}
			line += fmt.Sprintf(" file %04o %s", perm, b)
		default:
			line += " other"
		}
		return line + fmt.Sprintf(" %d:%d", st.Uid, st.Gid), nil
	})
}
