package solver

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/internal/testroot"
	"github.com/lade-build/lade/internal/testutil"
	"github.com/lade-build/lade/parser"
	"github.com/lade-build/lade/runner"
	"github.com/lade-build/lade/snapshot"
)

// fakeImages serves one image for every reference and counts resolutions.
type fakeImages struct {
	img v1.Image
	mu  sync.Mutex
	n   map[string]int
}

func (f *fakeImages) Resolve(_ context.Context, ref string, _ v1.Platform) (v1.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n[ref]++
	if ref == "missing" {
		return nil, fmt.Errorf("no such image")
	}
	return f.img, nil
}

func (f *fakeImages) count(ref string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[ref]
}

// fakeExec records commands instead of running them. A command "meet:X"
// blocks until every command named in meetWant has arrived, which only
// happens when stages run concurrently; "write:X" writes the file /X
// holding X; "fail..." exits 3.
type fakeExec struct {
	mu       sync.Mutex
	ran      []string
	specs    []*runner.Spec
	arrived  map[string]bool
	meetWant int
	cond     *sync.Cond
}

func newFakeExec(meet int) *fakeExec {
	f := &fakeExec{arrived: map[string]bool{}, meetWant: meet}
	f.cond = sync.NewCond(&f.mu)
	return f
}

func (f *fakeExec) Run(ctx context.Context, spec *runner.Spec) (int, error) {
	cmd := spec.Args[len(spec.Args)-1]
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ran = append(f.ran, cmd)
	f.specs = append(f.specs, spec)
	if strings.HasPrefix(cmd, "meet:") {
		f.arrived[cmd] = true
		f.cond.Broadcast()
		deadline := time.AfterFunc(20*time.Second, func() { f.mu.Lock(); f.cond.Broadcast(); f.mu.Unlock() })
		defer deadline.Stop()
		start := time.Now()
		for len(f.arrived) < f.meetWant {
			if time.Since(start) > 19*time.Second || ctx.Err() != nil {
				return 1, nil // the other stage never ran alongside
			}
			f.cond.Wait()
		}
	}
	if name, ok := strings.CutPrefix(cmd, "write:"); ok {
		if err := os.WriteFile(filepath.Join(spec.Rootfs, name), []byte(name), 0o644); err != nil {
			return -1, err
		}
	}
	if strings.HasPrefix(cmd, "fail") {
		return 3, nil
	}
	return 0, nil
}

// commands returns what ran so far and forgets it.
func (f *fakeExec) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ran := f.ran
	f.ran, f.specs = nil, nil
	return ran
}

// newBuilder is a Builder whose snapshots are plain directories (see
// dirSnapshots) and whose base image is busybox: graph, scheduling and
// cache tests run as any user. The build cache is on.
func newBuilder(t *testing.T, ex Executor) (*Builder, *fakeImages) {
	t.Helper()
	dir := t.TempDir()
	content, index := testroot.OpenCache(t, dir)
	snaps := &dirSnapshots{dir: filepath.Join(dir, "snapshots"), layers: map[v1.Hash][]byte{}}
	if err := os.Mkdir(snaps.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n := snaps.live(); n != 0 {
			t.Errorf("%d snapshots were never removed", n)
		}
	})
	imgs := &fakeImages{img: testutil.BusyboxImage(t), n: map[string]int{}}
	return &Builder{Snapshots: snaps, Content: content, Index: index, Images: imgs, Exec: ex, TmpDir: filepath.Join(dir, "tmp")}, imgs
}

func parse(t *testing.T, src string) *parser.Dockerfile {
	t.Helper()
	df, err := parser.Parse(strings.NewReader(src), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	return df
}

// dirSnapshots is a Snapshotter of plain directories. Layers are kept as
// tars; Mount extracts its parents into a fresh dir, owned by whoever
// runs the test, and Diff packs what was added or changed since (not
// deletions), with times zeroed so equal changes make equal layers, as
// with SOURCE_DATE_EPOCH. Nothing is mounted or chowned.
type dirSnapshots struct {
	dir    string
	mu     sync.Mutex
	layers map[v1.Hash][]byte
	mounts int
}

func (s *dirSnapshots) Has(id v1.Hash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.layers[id]
	return ok
}

func (s *dirSnapshots) Unpack(_ context.Context, id v1.Hash, r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return s.store(id, data)
}

func (s *dirSnapshots) store(id v1.Hash, data []byte) error {
	if h, _, _ := v1.SHA256(bytes.NewReader(data)); h != id {
		return fmt.Errorf("layer %s: digest mismatch: got %s", id, h)
	}
	s.mu.Lock()
	s.layers[id] = data
	s.mu.Unlock()
	return nil
}

func (s *dirSnapshots) live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mounts
}

func (s *dirSnapshots) Mount(ctx context.Context, parents []v1.Hash, _ bool) (Mounted, error) {
	root, err := os.MkdirTemp(s.dir, "mount-")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range parents {
		data, ok := s.layers[p]
		if !ok {
			os.RemoveAll(root)
			return nil, fmt.Errorf("layer %s is not unpacked", p)
		}
		if err := untar(root, data); err != nil {
			os.RemoveAll(root)
			return nil, err
		}
	}
	before, err := walkState(root)
	if err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	s.mounts++
	return &dirMount{s: s, root: root, before: before}, nil
}

type dirMount struct {
	s       *dirSnapshots
	root    string
	before  map[string]entry // walkState at Mount
	diff    []byte
	removed bool
}

func (m *dirMount) Root() string { return m.root }

func (m *dirMount) Diff(context.Context, snapshot.DiffOptions) (io.ReadCloser, error) {
	after, err := walkState(m.root)
	if err != nil {
		return nil, err
	}
	var names []string
	for rel, e := range after {
		if m.before[rel].state != e.state {
			names = append(names, rel)
		}
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, rel := range names {
		if err := writeEntry(tw, m.root, rel, after[rel]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	m.diff = buf.Bytes()
	return io.NopCloser(bytes.NewReader(m.diff)), nil
}

// writeEntry packs one entry without owner or times, so equal changes
// make equal layers.
func writeEntry(tw *tar.Writer, root, rel string, e entry) error {
	hdr, err := tar.FileInfoHeader(e.fi, e.link)
	if err != nil {
		return err
	}
	hdr.Name, hdr.Format = filepath.ToSlash(rel), tar.FormatPAX
	hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = time.Unix(0, 0), time.Time{}, time.Time{}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	if err := tw.WriteHeader(hdr); err != nil || !e.fi.Mode().IsRegular() {
		return err
	}
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err == nil {
		_, err = tw.Write(data)
	}
	return err
}

// entry is one path under a fake snapshot's root; state is what a change
// alters: ctime too, as a rewrite keeping size and mtime still changes it.
type entry struct {
	fi    os.FileInfo
	link  string
	state string
}

func walkState(root string) (map[string]entry, error) {
	out := map[string]entry{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == root {
			return err
		}
		link, _ := os.Readlink(p)
		rel, _ := filepath.Rel(root, p)
		out[rel] = entry{fi, link, fmt.Sprint(fi.Mode(), fi.Size(), fi.ModTime().UnixNano(), fi.Sys().(*syscall.Stat_t).Ctim, link)}
		return nil
	})
	return out, err
}

func (m *dirMount) Commit(_ context.Context, id v1.Hash) error {
	return m.s.store(id, m.diff)
}

func (m *dirMount) Remove() error {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if !m.removed {
		m.removed = true
		m.s.mounts--
	}
	return os.RemoveAll(m.root)
}

// untar extracts a test layer's dirs, files and links into root, leaving
// out owners: enough for a fake, not for hostile input.
func untar(root string, data []byte) error {
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(root, filepath.Clean("/"+hdr.Name))
		if hdr.Typeflag != tar.TypeDir {
			_ = os.Remove(p)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
			if err == nil {
				err = os.Chmod(p, hdr.FileInfo().Mode().Perm()|0o700)
			}
		case tar.TypeReg:
			var f *os.File
			if f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, hdr.FileInfo().Mode().Perm()|0o600); err == nil {
				_, err = io.Copy(f, tr)
				f.Close()
			}
		case tar.TypeSymlink:
			err = os.Symlink(hdr.Linkname, p)
		case tar.TypeLink:
			err = os.Link(filepath.Join(root, filepath.Clean("/"+hdr.Linkname)), p)
		}
		if err != nil {
			return err
		}
	}
}
