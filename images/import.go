package images

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lade-build/lade/cache"
)

// defaultPath is the PATH docker gives images that do not set one.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Import makes a one-layer linux/amd64 image from a root filesystem tarball
// (plain, gzip, bzip2, xz or zstd) and tags it as ref unless ref is empty,
// in which case it is stored untagged.
func (s *Store) Import(ctx context.Context, r io.Reader, ref string, created time.Time) (v1.Image, error) {
	release, err := s.content.HoldGC(ctx)
	if err != nil {
		return nil, err
	}
	defer release() // blobs stay unreferenced until the index names them
	if ref != "" {
		if _, err := normalize(ref); err != nil {
			return nil, err
		}
	}
	img, err := s.importLayer(ctx, r, created)
	if err != nil {
		return nil, fmt.Errorf("importing tarball: %w", err)
	}
	if ref != "" {
		err = s.Tag(ctx, ref, img)
	} else {
		err = s.Store(ctx, img)
	}
	if err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	return s.load(ctx, d)
}

func (s *Store) importLayer(ctx context.Context, r io.Reader, created time.Time) (v1.Image, error) {
	tr, err := decompress(ctx, r)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	info, err := s.content.WriteLayer(ctx, tr, cache.Gzip)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Created:      v1.Time{Time: created},
		OS:           "linux",
		Architecture: "amd64",
		Config:       v1.Config{Env: []string{defaultPath}},
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer:   s.content.Layer(info),
		History: v1.History{Created: v1.Time{Time: created}, Comment: "imported from tarball"},
	})
}

// decompress detects the tarball's compression by its magic bytes.
func decompress(ctx context.Context, r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(6)
	if len(magic) == 0 {
		if err == nil || err == io.EOF {
			return nil, errors.New("empty tarball")
		}
		return nil, err
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := pgzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading gzip: %w", err)
		}
		return zr, nil
	case bytes.HasPrefix(magic, []byte("BZh")):
		return io.NopCloser(bzip2.NewReader(br)), nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return xzReader(ctx, br)
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading zstd: %w", err)
		}
		return zr.IOReadCloser(), nil
	}
	return io.NopCloser(br), nil
}

// xzReader decompresses through xz(1), as docker does: the standard library
// has no xz decoder and xz tarballs are rare enough not to add one.
func xzReader(ctx context.Context, r io.Reader) (io.ReadCloser, error) {
	cmd := exec.CommandContext(ctx, "xz", "-d", "-c", "-q")
	cmd.Stdin = r
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("xz-compressed tarball needs xz(1): %w", err)
	}
	return &cmdReader{out: out, cmd: cmd, stderr: &stderr}, nil
}

// cmdReader reads a command's stdout and reports its failure at EOF.
type cmdReader struct {
	out    io.ReadCloser
	cmd    *exec.Cmd
	stderr *strings.Builder
	done   bool
}

func (c *cmdReader) Read(p []byte) (int, error) {
	if c.done {
		// Wait closed the pipe; a caller that reads past EOF (bufio
		// does) must see EOF again, not "file already closed".
		return 0, io.EOF
	}
	n, err := c.out.Read(p)
	if err == io.EOF && !c.done {
		c.done = true
		if werr := c.cmd.Wait(); werr != nil {
			return n, fmt.Errorf("xz: %w: %s", werr, strings.TrimSpace(c.stderr.String()))
		}
	}
	return n, err
}

func (c *cmdReader) Close() error {
	if !c.done {
		c.done = true
		c.out.Close()
		c.cmd.Process.Kill()
		c.cmd.Wait()
	}
	return nil
}

// containerdNameAnnotation is where containerd keeps the full reference; the OCI
// ref.name annotation is often only a tag.
const containerdNameAnnotation = "io.containerd.image.name"

// LoadLayout stores the images listed in the OCI layout at dir. Each is
// tagged by its org.opencontainers.image.ref.name annotation (a bare tag is
// applied to ref's repository), else as ref, else stored untagged. Nested
// indexes are not descended into.
func (s *Store) LoadLayout(ctx context.Context, dir string, ref string) ([]v1.Image, error) {
	release, err := s.content.HoldGC(ctx)
	if err != nil {
		return nil, err
	}
	defer release() // blobs stay unreferenced until the index names them
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("loading layout %s: %w", dir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("loading layout %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("loading layout %s: %w", dir, err)
	}
	if err := cache.CheckIndex(im); err != nil {
		return nil, fmt.Errorf("loading layout %s: %w", dir, err)
	}
	var out []v1.Image
	for _, desc := range im.Manifests {
		if !desc.MediaType.IsImage() {
			continue
		}
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("loading layout %s: image %s: %w", dir, desc.Digest, err)
		}
		tag := layoutName(desc.Annotations, ref)
		if tag != "" {
			err = s.Tag(ctx, tag, img)
		} else {
			err = s.Store(ctx, img)
		}
		if err != nil {
			return nil, fmt.Errorf("loading layout %s: %w", dir, err)
		}
		stored, err := s.load(ctx, desc.Digest)
		if err != nil {
			return nil, err
		}
		out = append(out, stored)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("loading layout %s: no image manifests in index.json", dir)
	}
	return out, nil
}

func layoutName(ann map[string]string, ref string) string {
	if n := ann[containerdNameAnnotation]; n != "" {
		return n
	}
	n := ann[ocispec.AnnotationRefName]
	if n == "" {
		return ref
	}
	if ref != "" && !strings.ContainsAny(n, "/:@") {
		// A bare tag such as "1.0": apply it to ref's repository.
		if t, err := ParseTag(ref); err == nil {
			return t.Context().Tag(n).String()
		}
	}
	return n
}
