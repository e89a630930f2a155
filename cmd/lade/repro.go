package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/imagediff"
	"github.com/lade-build/lade/internal/owned"
	"github.com/lade-build/lade/internal/sourcedate"
	"github.com/lade-build/lade/progress"
	"github.com/lade-build/lade/solver"
)

// reproPrefix names the scratch roots of --verify-repro under <root>/tmp.
const reproPrefix = "repro-"

// prepareRepro gives a --verify-repro build its SOURCE_DATE_EPOCH when
// the environment sets none: the context's git commit time, else 0, so
// both builds (and a rebuild elsewhere from the same commit) clamp their
// timestamps to the same time.
func (a *app) prepareRepro(ctx context.Context, f *buildFlags, o *solver.Options, prog *progress.Printer) {
	if !f.verifyRepro || o.SourceDateEpoch != nil {
		return
	}
	t, err := sourcedate.FromGit(ctx, o.ContextDir)
	from := "the context's git commit time"
	if err != nil {
		t, from = time.Unix(0, 0).UTC(), "no git commit time for the context"
	}
	o.SourceDateEpoch = &t
	prog.Printf("SOURCE_DATE_EPOCH=%d (%s)\n", t.Unix(), from)
}

// verifyRepro builds the target again from scratch and compares the two
// images: on a difference it prints imagediff's report and fails.
func (a *app) verifyRepro(ctx context.Context, f *buildFlags, o solver.Options, first v1.Image, prog *progress.Printer) error {
	if !f.verifyRepro {
		return nil
	}
	prog.Printf("--verify-repro: building again in a fresh root, without the cache\n")
	second, done, err := a.rebuild(ctx, o)
	if err != nil {
		return fmt.Errorf("--verify-repro: second build: %w", err)
	}
	defer done()
	r, err := imagediff.Compare(ctx, first, second)
	if err != nil {
		return fmt.Errorf("--verify-repro: comparing the builds: %w", err)
	}
	if r.Identical {
		prog.Printf("reproducible: %s\n", r.A)
		return nil
	}
	prog.Close() // the report follows the build's output, even with --progress quiet
	fmt.Fprintf(a.stderr, "not reproducible: %s vs %s (A: the build, B: the rebuild)\n", r.A, r.B)
	printDiff(a.stderr, r, "text")
	return statusError{1, fmt.Errorf("--verify-repro: the build is not reproducible: %d difference(s)", len(r.Differences))}
}

// rebuild runs the build o again in a new lade root under <root>/tmp,
// owned by this process (a sweep removes it if lade is killed). It shares
// nothing the first build made: not the cache index, the content store,
// the snapshots (base layers are unpacked again, so a corrupt or stale
// snapshot in the main root cannot make the builds agree), cache mounts
// or the context's stat cache. Only base images are taken from the main
// store (read-only, as blobs whose digests are checked when unpacked), so
// the rebuild needs no network. done deletes the scratch root; the image
// stays readable until then.
func (a *app) rebuild(ctx context.Context, o solver.Options) (v1.Image, func(), error) {
	tmp := filepath.Join(a.root, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, nil, err
	}
	if err := owned.Sweep(tmp, reproPrefix); err != nil {
		fmt.Fprintln(a.stderr, "WARNING: "+err.Error())
	}
	dir, err := owned.New(tmp, reproPrefix)
	if err != nil {
		return nil, nil, err
	}
	r := &app{root: dir.Path, insecure: a.insecure, stdin: a.stdin, stdout: a.stdout, stderr: a.stderr}
	done := func() {
		if r.snapshots != nil {
			r.snapshots.Wait()
		}
		if r.content != nil {
			r.content.Wait()
		}
		if err := dir.Remove(); err != nil {
			fmt.Fprintln(a.stderr, "WARNING: removing the rebuild's root: "+err.Error())
		}
	}
	img, err := r.buildFresh(ctx, a, o)
	if err != nil {
		done()
		return nil, nil, err
	}
	return img, done, nil
}

// buildFresh builds o in r's (empty) root with no cache, resolving base
// images through base.
func (r *app) buildFresh(ctx context.Context, base *app, o solver.Options) (v1.Image, error) {
	if err := r.open(); err != nil {
		return nil, err
	}
	b, closeBuilder, err := r.builder(o.ContextDir, true)
	if err != nil {
		return nil, err
	}
	defer closeBuilder()
	b.Images, b.Index = base, nil
	o.NoCache, o.NoCacheFilter, o.ExplainCache = true, nil, false
	res, err := b.Build(ctx, o)
	if err != nil {
		return nil, err
	}
	return res.Image, nil
}
