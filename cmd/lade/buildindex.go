package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/exporter"
	"github.com/lade-build/lade/progress"
	"github.com/lade-build/lade/remotecache"
	"github.com/lade-build/lade/solver"
)

// finishIndex ends a multi-platform build, or one with attestations (att
// non-nil), as buildx does: the image index of its platforms (and their
// attestation manifests) goes to every output, every platform's cache
// records to --cache-to, and the index digest to --iidfile (and stdout
// with -q). One platform's image alone goes to the local store and to a
// docker archive, which keep no attestations, and to files, beside its
// attestations; when no output takes the index, the image's ID is
// reported.
func (a *app) finishIndex(ctx context.Context, f *buildFlags, outs []output, cacheTo []remotecache.Spec,
	results []*solver.Result, remote *remotecache.Remote, prog *progress.Printer, att *buildAttest) error {
	idx, err := solver.Index(results)
	if att != nil {
		idx, err = att.index(ctx, results, prog)
	}
	if err != nil {
		return err
	}
	anns, err := parseAnnotations(f.annotations) // checked before the build
	if err != nil {
		return err
	}
	idx = exporter.AnnotateIndex(idx, anns)
	single := len(results) == 1
	extra, err := attestationFiles(ctx, att, outs, results)
	if err != nil {
		return err
	}
	for _, o := range outs {
		if single && !o.push && (o.typ == "image" || o.typ == "docker") {
			if o.typ == "docker" {
				prog.Printf("WARNING: attestations are not exported to type=docker: use type=oci or --push to keep them\n")
			}
			err = a.export(ctx, results[0].Image, o, f.tags, prog)
		} else {
			err = a.exportIndex(ctx, idx, results, extra, o, f.tags, prog)
		}
		if err != nil {
			return err
		}
	}
	if err := remotecache.Export(ctx, a.remoteCache(prog), cacheTo, cacheBuild(results...), remote); err != nil {
		return err
	}
	// As buildx: a build that exports an index (attestations pushed or
	// in an OCI archive) reports the index, its digest as the image ID
	// and no config digest (BuildKit's exporter gives none for an index).
	if single && !slices.ContainsFunc(outs, func(o output) bool { return o.push || o.typ == "oci" }) {
		if err := a.writeImageMetadata(f, outs, results[0].Image); err != nil {
			return err
		}
		return a.reportImage(f, results[0].Image)
	}
	if f.metadataFile != "" {
		m, err := exporter.IndexMetadata(idx, metadataNames(f.tags, outs))
		if err != nil {
			return err
		}
		if err := writeMetadata(f.metadataFile, m); err != nil {
			return err
		}
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	return a.reportID(f, d)
}

// attestationFiles are the results' attestations as files when an
// output writes files (local, tar); nil otherwise.
func attestationFiles(ctx context.Context, att *buildAttest, outs []output, results []*solver.Result) ([][]exporter.ExtraFile, error) {
	if att == nil || !slices.ContainsFunc(outs, func(o output) bool { return !o.push && (o.typ == "local" || o.typ == "tar") }) {
		return nil, nil
	}
	return att.files(ctx, results)
}

// exportIndex writes a multi-platform build's index (or, with extra
// files, the results' files and their attestations) to one output.
func (a *app) exportIndex(ctx context.Context, idx v1.ImageIndex, results []*solver.Result, extra [][]exporter.ExtraFile, o output, tags []string, prog *progress.Printer) error {
	names := append(append([]string(nil), tags...), o.names...)
	step := prog.Start(fmt.Sprintf("exporting to %s", o.typ))
	err := func() error {
		if o.force && o.compression != "" {
			return errors.New("force-compression is not supported for a multi-platform build")
		}
		if o.push {
			return a.exportPushIndex(ctx, idx, names, prog)
		}
		switch o.typ {
		case "local", "tar":
			imgs, plats := make([]v1.Image, len(results)), make([]v1.Platform, len(results))
			for i, r := range results {
				imgs[i], plats[i] = r.Image, r.Platform
			}
			files := exporter.ResultFiles(imgs, plats)
			for i := range extra {
				files[i].Extra = extra[i]
			}
			return a.exportFiles(ctx, o, files)
		case "image":
			if len(names) == 0 {
				// Nothing names the index: keep each platform's image.
				for _, r := range results {
					if err := a.images.Store(ctx, r.Image); err != nil {
						return err
					}
				}
				return nil
			}
			for _, n := range names {
				if err := a.images.TagIndex(ctx, n, idx); err != nil {
					return err
				}
			}
			return nil
		default: // oci: docker was refused before the build
			write := func(w io.Writer) error { return exporter.WriteOCIIndex(ctx, w, idx, names) }
			if o.dest == "-" {
				return write(a.stdout)
			}
			return writeArchive(o.dest, write)
		}
	}()
	step.Done(true, err)
	if err != nil {
		return fmt.Errorf("exporting %s image: %w", o.typ, err)
	}
	return nil
}
