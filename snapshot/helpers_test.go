package snapshot

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/internal/untar"
	"golang.org/x/sys/unix"
)

var testTime = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// ent describes one tar entry to build; zero values get sane defaults.
type ent struct {
	name  string
	typ   byte
	body  string
	link  string
	mode  int64
	uid   int
	pax   map[string]string
	major int64
}

func dir(name string, mode int64) ent { return ent{name: name, typ: tar.TypeDir, mode: mode} }
func file(name, body string) ent      { return ent{name: name, typ: tar.TypeReg, body: body, mode: 0o644} }
func symlink(name, target string) ent {
	return ent{name: name, typ: tar.TypeSymlink, link: target, mode: 0o777}
}
func hardlink(name, target string) ent { return ent{name: name, typ: tar.TypeLink, link: target} }

func buildTar(t *testing.T, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		hdr := &tar.Header{
			Name:       e.name,
			Typeflag:   e.typ,
			Linkname:   e.link,
			Mode:       e.mode,
			Uid:        e.uid,
			Gid:        e.uid,
			Size:       int64(len(e.body)),
			ModTime:    testTime,
			PAXRecords: e.pax,
			Devmajor:   e.major,
			Format:     tar.FormatPAX,
		}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("writing %s: %v", e.name, err)
		}
		if hdr.Size > 0 {
			if _, err := io.WriteString(tw, e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func digest(b []byte) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(b))}
}

// tarEntry is the comparable summary of a tar entry.
type tarEntry struct {
	Name   string
	Type   byte
	Mode   int64
	Uid    int
	Link   string
	Body   string
	Xattrs map[string]string
}

func readTar(t *testing.T, b []byte) []tarEntry {
	t.Helper()
	var out []tarEntry
	testutil.EachTarEntry(t, b, func(hdr *tar.Header, body []byte) {
		e := tarEntry{Name: hdr.Name, Type: hdr.Typeflag, Mode: hdr.Mode, Uid: hdr.Uid, Link: hdr.Linkname, Body: string(body)}
		for k, v := range hdr.PAXRecords {
			if strings.HasPrefix(k, untar.PAXXattr) {
				if e.Xattrs == nil {
					e.Xattrs = map[string]string{}
				}
				e.Xattrs[strings.TrimPrefix(k, untar.PAXXattr)] = v
			}
		}
		out = append(out, e)
	})
	return out
}

// tree lists dir recursively as path -> "type mode uid content", the view a
// container would see. Overlay whiteouts show up as "whiteout".
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("%o uid=%d", st.Mode&0o7777, st.Uid)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			desc = "dir " + desc
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc = fmt.Sprintf("file %s %q", desc, b)
		case unix.S_IFLNK:
			l, _ := os.Readlink(p)
			desc = "symlink -> " + l
		case unix.S_IFCHR:
			desc = fmt.Sprintf("chardev %d", st.Rdev)
		case unix.S_IFIFO:
			desc = "fifo " + desc
		default:
			desc = "other"
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", root, err)
	}
	return out
}

// listingExcept lists every path under parent (with type, mode and size)
// except those under skip, to prove nothing was written outside a root.
func listingExcept(t *testing.T, parent, skip string) []string {
	t.Helper()
	return testutil.Listing(t, parent, func(p string, st *unix.Stat_t) (string, error) {
		if p == skip {
			return "", filepath.SkipDir
		}
		line := fmt.Sprintf("%s %o", p, st.Mode)
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			// A new hardlink to a host file shows up in its link count.
			line += fmt.Sprintf(" size=%d nlink=%d", st.Size, st.Nlink)
		}
		return line, nil
	})
}

// newStore is New(dir), failing the test on an error.
func newStore(t *testing.T, dir string) *Snapshotter {
	t.Helper()
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeFileT writes file p (mode 0644), making its parent dirs.
func writeFileT(t *testing.T, p, body string) {
	t.Helper()
	testutil.WriteTree(t, filepath.Dir(p), map[string]string{filepath.Base(p): body})
}

func timeOf(ts unix.Timespec) time.Time { return time.Unix(ts.Unix()) }
