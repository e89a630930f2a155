package attest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/internal/decompress"
)

// Package is one package found in an image's filesystem.
type Package struct {
	Type    string // deb, apk, golang, npm, pypi (package URL types)
	Name    string
	Version string
	Arch    string
	License string // as the package states it
	Source  string // the file it was found in, absolute in the image
}

// Limits of what the scanner reads: a database or manifest larger than
// maxMetaSize, or an executable larger than maxBinarySize, is skipped.
const (
	maxMetaSize   = 64 << 20
	maxBinarySize = 256 << 20
)

// Scanner finds packages in files given to it one by one, in any order,
// so one pass over an image's flattened tar (or a directory) finds all.
type Scanner struct {
	pkgs      []Package
	osRelease map[string]string
	// RPMDatabases are the rpm databases seen; lade does not read them.
	RPMDatabases []string
}

// kind tells which reader a path needs ("" none); exec marks a file that
// may be a Go binary.
func kind(name string, mode fs.FileMode) string {
	base := path.Base(name)
	dir := path.Dir(name)
	switch {
	case name == "var/lib/dpkg/status", dir == "var/lib/dpkg/status.d":
		return "dpkg"
	case name == "lib/apk/db/installed":
		return "apk"
	case name == "etc/os-release", name == "usr/lib/os-release":
		return "os-release"
	case name == "var/lib/rpm/Packages", name == "var/lib/rpm/rpmdb.sqlite", name == "usr/lib/sysimage/rpm/rpmdb.sqlite", name == "usr/lib/sysimage/rpm/Packages.db":
		return "rpm"
	case base == "package.json" && isNodeModule(dir):
		return "npm"
	case base == "package-lock.json" && !strings.Contains(name, "node_modules/"):
		return "npm-lock"
	case base == "METADATA" && strings.HasSuffix(dir, ".dist-info"), base == "PKG-INFO" && strings.HasSuffix(dir, ".egg-info"):
		return "python"
	case mode&0o111 != 0:
		return "exec"
	}
	return ""
}

// Add reads one regular file of the image (name relative to its root)
// if it is one the scanner knows. A file it cannot parse is skipped: an
// SBOM lists what can be known, a broken file does not fail the build.
func (s *Scanner) Add(name string, mode fs.FileMode, size int64, r io.Reader) error {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	k := kind(name, mode)
	if k == "" || !mode.IsRegular() {
		return nil
	}
	if k == "rpm" {
		s.RPMDatabases = append(s.RPMDatabases, "/"+name)
		return nil
	}
	if k == "exec" {
		return s.addExec(name, size, r)
	}
	if size > maxMetaSize {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(r, maxMetaSize))
	if err != nil {
		return err
	}
	src := "/" + name
	switch k {
	case "dpkg":
		s.pkgs = append(s.pkgs, parseDpkg(data, src)...)
	case "apk":
		s.pkgs = append(s.pkgs, parseApk(data, src)...)
	case "os-release":
		if s.osRelease == nil || name == "etc/os-release" {
			s.osRelease = parseKeyValues(data)
		}
	case "npm":
		s.pkgs = append(s.pkgs, parseNpmPackage(data, src)...)
	case "npm-lock":
		s.pkgs = append(s.pkgs, parseNpmLock(data, src)...)
	case "python":
		s.pkgs = append(s.pkgs, parsePython(data, src)...)
	}
	return nil
}

// isNodeModule tells whether dir is node_modules/NAME or
// node_modules/@SCOPE/NAME.
func isNodeModule(dir string) bool {
	parent := path.Dir(dir)
	if strings.HasPrefix(path.Base(parent), "@") {
		parent = path.Dir(parent)
	}
	return path.Base(parent) == "node_modules"
}

var elfMagic = []byte("\x7fELF")

// addExec reads the Go build info of an ELF executable: the main module
// and every dependency module it was built with.
func (s *Scanner) addExec(name string, size int64, r io.Reader) error {
	if size < 4 || size > maxBinarySize {
		return nil
	}
	br := bufio.NewReader(r)
	head, err := br.Peek(4)
	if err != nil || !bytes.Equal(head, elfMagic) {
		return nil
	}
	data := make([]byte, size) // one allocation: size was checked above
	if _, err := io.ReadFull(br, data); err != nil {
		return nil // shorter than its header said: not readable
	}
	bi, err := buildinfo.Read(bytes.NewReader(data))
	if err != nil {
		return nil // not a Go binary
	}
	src := "/" + name
	add := func(path, version string) {
		if path != "" {
			s.pkgs = append(s.pkgs, Package{Type: "golang", Name: path, Version: version, Source: src})
		}
	}
	add(bi.Main.Path, bi.Main.Version)
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		add(d.Path, d.Version)
	}
	add("stdlib", bi.GoVersion)
	return nil
}

// Packages are the packages found, each once, sorted.
func (s *Scanner) Packages() []Package {
	seen := map[string]bool{}
	var out []Package
	for _, p := range s.pkgs {
		key := p.Type + "\x00" + p.Name + "\x00" + p.Version + "\x00" + p.Arch
		if p.Type == "golang" || p.Type == "pypi" {
			key += "\x00" + p.Source // one entry per binary, per site-packages
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Source < b.Source
	})
	return out
}

// Distro is the image's os-release ID and VERSION_ID ("" when absent).
func (s *Scanner) Distro() (id, version string) {
	return s.osRelease["ID"], s.osRelease["VERSION_ID"]
}

// ScanDir scans the filesystem tree under root (symlinks not followed).
func (s *Scanner) ScanDir(ctx context.Context, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if kind(filepath.ToSlash(rel), fi.Mode()) == "" {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return s.Add(filepath.ToSlash(rel), fi.Mode(), fi.Size(), f)
	})
}

// ScanImage scans img's filesystem as its layers stack up, in one pass
// over each layer from the top: a file is read in the topmost layer that
// has it, and not at all when an upper layer deleted it (a whiteout, an
// opaque directory, or a non-directory in place of one of its parents).
// Layers are decompressed by internal/decompress (parallel gzip, zstd).
func (s *Scanner) ScanImage(ctx context.Context, img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("listing layers: %w", err)
	}
	up := &upperLayers{seen: map[string]bool{}, gone: map[string]bool{}, opaque: map[string]bool{}}
	for i := len(layers) - 1; i >= 0; i-- {
		if err := s.scanLayer(ctx, layers[i], up); err != nil {
			return fmt.Errorf("scanning layer %d: %w", i+1, err)
		}
	}
	return nil
}

// upperLayers is what the layers above the one being read decided: the
// paths they hold (seen), those whose subtree they removed (gone), and
// the directories they made opaque.
type upperLayers struct {
	seen, gone, opaque map[string]bool
}

// hides tells whether an upper layer hides name.
func (u *upperLayers) hides(name string) bool {
	if u.seen[name] {
		return true
	}
	for p := path.Dir(name); p != "." && p != "/"; p = path.Dir(p) {
		if u.gone[p] || u.opaque[p] {
			return true
		}
	}
	return false
}

func (s *Scanner) scanLayer(ctx context.Context, l v1.Layer, up *upperLayers) error {
	tr, done, err := openLayer(ctx, l)
	if err != nil {
		return err
	}
	defer done()
	this := &upperLayers{seen: map[string]bool{}, gone: map[string]bool{}, opaque: map[string]bool{}}
	links := map[string][]string{} // target -> hard links to it the scanner reads
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		dir, base := path.Dir(name), path.Base(name)
		switch {
		case base == ".wh..wh..opq":
			this.opaque[dir] = true
			continue
		case strings.HasPrefix(base, ".wh."):
			gone := path.Join(dir, strings.TrimPrefix(base, ".wh."))
			this.seen[gone], this.gone[gone] = true, true
			continue
		}
		hidden := up.hides(name)
		this.seen[name] = true
		if h.Typeflag != tar.TypeDir {
			this.gone[name] = true
		}
		if !hidden && h.Typeflag == tar.TypeLink && kind(name, h.FileInfo().Mode().Perm()) != "" {
			// A hard link's bytes are its target's, an earlier entry:
			// read again once this pass has found all the links.
			target := strings.TrimPrefix(path.Clean("/"+h.Linkname), "/")
			links[target] = append(links[target], name)
		}
		if hidden || h.Typeflag != tar.TypeReg {
			continue
		}
		if err := s.Add(name, h.FileInfo().Mode(), h.Size, tr); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if len(links) > 0 {
		if err := s.scanLinks(ctx, l, links); err != nil {
			return err
		}
	}
	for _, m := range []struct{ from, to map[string]bool }{{this.seen, up.seen}, {this.gone, up.gone}, {this.opaque, up.opaque}} {
		for k := range m.from {
			m.to[k] = true
		}
	}
	return nil
}

// scanLinks reads l again for the targets of the hard links the scanner
// wants (a dpkg status file a RUN step linked, say), and adds each link
// with its target's bytes: tar stores those bytes once, under whichever
// name came first.
func (s *Scanner) scanLinks(ctx context.Context, l v1.Layer, links map[string][]string) error {
	tr, done, err := openLayer(ctx, l)
	if err != nil {
		return err
	}
	defer done()
	for len(links) > 0 {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		names := links[name]
		if h.Typeflag != tar.TypeReg || len(names) == 0 {
			continue
		}
		delete(links, name)
		if h.Size > max(maxMetaSize, maxBinarySize) {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := s.Add(n, h.FileInfo().Mode(), h.Size, bytes.NewReader(data)); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
		}
	}
	return nil
}

// openLayer reads l's tar stream, whatever its compression; done closes it.
func openLayer(ctx context.Context, l v1.Layer) (*tar.Reader, func(), error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, nil, err
	}
	zr, err := decompress.Reader(ctx, rc)
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	return tar.NewReader(zr), func() { zr.Close(); rc.Close() }, nil
}
