package exporter

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/lade-build/lade/internal/untar"
)

// Files is one image whose filesystem an output writes, under Dir ("" for
// a single-platform build; os_arch[_variant] for each platform of a
// multi-platform one, as buildx's local and tar exporters lay them out).
type Files struct {
	Dir   string
	Image v1.Image
	Extra []ExtraFile // written in Dir after the image's files: its attestations
}

// ExtraFile is a file an output writes beside an image's files.
type ExtraFile struct {
	Name string
	Data []byte
}

// PlatformDir is the directory buildx gives platform p's files.
func PlatformDir(p v1.Platform) string {
	s := p.OS + "_" + p.Architecture
	if p.Variant != "" {
		s += "_" + p.Variant
	}
	return s
}

// WriteFilesTar writes the images' filesystems (their layers applied in
// order, whiteouts honoured) to w as one plain tar (-o type=tar).
func WriteFilesTar(ctx context.Context, w io.Writer, files []Files) error {
	tw := tar.NewWriter(w)
	for _, f := range files {
		if err := copyFiles(ctx, tw, f); err != nil {
			return err
		}
		for _, e := range f.Extra {
			hdr := &tar.Header{Typeflag: tar.TypeReg, Name: path.Join(f.Dir, e.Name), Mode: 0o644, Size: int64(len(e.Data))}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := tw.Write(e.Data); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// copyFiles appends f's flattened filesystem to tw, under f.Dir.
func copyFiles(ctx context.Context, tw *tar.Writer, f Files) error {
	rc := mutate.Extract(f.Image)
	defer rc.Close()
	if f.Dir != "" {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: f.Dir + "/", Mode: 0o755}); err != nil {
			return err
		}
	}
	tr := tar.NewReader(rc)
	for ctx.Err() == nil {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("flattening image: %w", err)
		}
		if f.Dir != "" {
			hdr.Name = path.Join(f.Dir, hdr.Name)
			if hdr.Typeflag == tar.TypeLink {
				hdr.Linkname = path.Join(f.Dir, hdr.Linkname)
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// WriteLocal writes the images' filesystems into dir (-o type=local),
// creating it; nothing can be written outside it.
func WriteLocal(ctx context.Context, dir string, files []Files) error {
	for _, f := range files {
		root := filepath.Join(dir, f.Dir)
		if err := os.MkdirAll(root, 0o755); err != nil {
			return err
		}
		if err := extractFiles(ctx, root, f.Image); err != nil {
			return err
		}
		for _, e := range f.Extra {
			// The image may hold a file of that name: replace it, as
			// BuildKit's exporter writes its attestations last.
			if err := os.RemoveAll(filepath.Join(root, e.Name)); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(root, e.Name), e.Data, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

func extractFiles(ctx context.Context, root string, img v1.Image) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	return untar.Extract(ctx, rc, root, untar.Options{Kind: "image", Dest: "destination", SkipRoot: true})
}

// ResultFiles lists what a build's results write: one image at the top,
// or each platform's under its PlatformDir.
func ResultFiles(imgs []v1.Image, plats []v1.Platform) []Files {
	if len(imgs) == 1 {
		return []Files{{Image: imgs[0]}}
	}
	out := make([]Files, len(imgs))
	for i, img := range imgs {
		out[i] = Files{Dir: PlatformDir(plats[i]), Image: img}
	}
	return out
}
