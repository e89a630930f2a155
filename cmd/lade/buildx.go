package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/distribution/reference"
	units "github.com/docker/go-units"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/pflag"

	"github.com/lade-build/lade/buildctx"
	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/exporter"
	"github.com/lade-build/lade/network"
	"github.com/lade-build/lade/signature"
	"github.com/lade-build/lade/solver"
)

// buildxFlags are buildx's build flags beyond docker build's classic set.
type buildxFlags struct {
	load          bool
	pull          bool
	buildContexts []string
	addHosts      []string
	metadataFile  string
	annotations   []string
	ulimits       []string
	shmSize       string
}

// legacyBuildFlags are the classic builder's flags that buildx accepts
// and ignores; lade does the same, with a note, so old scripts run.
var legacyBuildFlags = []struct{ name, short, kind string }{
	{"rm", "", "bool"}, {"force-rm", "", "bool"}, {"compress", "", "bool"},
	{"squash", "", "bool"}, {"stream", "", "bool"}, {"disable-content-trust", "", "bool"},
	{"memory", "m", "string"}, {"memory-swap", "", "string"}, {"cpu-shares", "c", "string"},
	{"cpu-period", "", "string"}, {"cpu-quota", "", "string"}, {"cpuset-cpus", "", "string"},
	{"cpuset-mems", "", "string"}, {"isolation", "", "string"}, {"security-opt", "", "array"},
}

func addBuildxFlags(fl *pflag.FlagSet, f *buildxFlags) {
	fl.BoolVar(&f.load, "load", false, `shorthand for --output=type=image (the default: built images go to lade's store)`)
	fl.BoolVar(&f.pull, "pull", false, "always look base images up in their registry, even when stored")
	fl.StringArrayVar(&f.buildContexts, "build-context", nil, "additional build context for FROM and COPY --from: NAME=DIR|docker-image://REF|oci-layout://DIR[@DIGEST|:TAG]|GIT-URL|HTTP-URL")
	fl.StringArrayVar(&f.addHosts, "add-host", nil, "add a line to RUN steps' /etc/hosts (HOST:IP)")
	fl.StringVar(&f.metadataFile, "metadata-file", "", "write the build result's metadata (buildx's keys) to this file")
	fl.StringArrayVar(&f.annotations, "annotation", nil, "add an annotation: [TYPE[,TYPE][PLATFORM]:]KEY=VALUE, TYPE manifest (default) or index")
	fl.StringArrayVar(&f.ulimits, "ulimit", nil, "ulimit for RUN steps (NAME=SOFT[:HARD], as docker's)")
	fl.StringVar(&f.shmSize, "shm-size", "", "size of RUN steps' /dev/shm (e.g. 128m; default 64m)")
	for _, l := range legacyBuildFlags {
		usage := "ignored, as buildx does (classic builder flag)"
		switch l.kind {
		case "bool":
			fl.BoolP(l.name, l.short, false, usage)
		case "array":
			fl.StringArrayP(l.name, l.short, nil, usage)
		default:
			fl.StringP(l.name, l.short, "", usage)
		}
		fl.Lookup(l.name).Hidden = true
	}
}

// noteLegacyFlags prints one line for each ignored classic flag given.
func (a *app) noteLegacyFlags(fl *pflag.FlagSet) {
	for _, l := range legacyBuildFlags {
		if fl.Changed(l.name) {
			fmt.Fprintf(a.stderr, "WARNING: --%s is ignored: it is a flag of the classic builder, which lade (as buildx) does not use\n", l.name)
		}
	}
}

// buildSandbox reads --add-host, --ulimit and --shm-size.
func buildSandbox(f *buildxFlags) (solver.Sandbox, error) {
	var s solver.Sandbox
	for _, h := range f.addHosts {
		v, err := network.ParseExtraHost(h)
		if err != nil {
			return s, err
		}
		s.ExtraHosts = append(s.ExtraHosts, v)
	}
	for _, u := range f.ulimits {
		ul, err := units.ParseUlimit(u)
		if err != nil {
			return s, fmt.Errorf("--ulimit: %w", err)
		}
		s.Ulimits = append(s.Ulimits, ul)
	}
	if f.shmSize != "" {
		n, err := container.ParseBytes(f.shmSize)
		if err != nil || n <= 0 {
			return s, fmt.Errorf("--shm-size: invalid size %q", f.shmSize)
		}
		s.ShmSize = n
	}
	return s, nil
}

// namedContexts opens the --build-context sources; closeAll removes what
// was fetched for them.
func (a *app) namedContexts(ctx context.Context, f *buildxFlags) (map[string]solver.NamedContext, func(), error) {
	out := map[string]solver.NamedContext{}
	var opened []*buildctx.Context
	closeAll := func() {
		for _, c := range opened {
			c.Close()
		}
	}
	for _, s := range f.buildContexts {
		n, err := buildctx.ParseNamed(s)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("--build-context: %w", err)
		}
		var nc solver.NamedContext
		switch {
		case n.Ref != "":
			nc.Ref = n.Ref
		case n.Layout != nil:
			nc.Image, nc.Display = n.Layout, n.Layout.String()
		default:
			src := n.Dir
			if n.Source != "" {
				src = n.Source
			}
			c, err := buildctx.Open(ctx, src, nil, a.scratchDir())
			if err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("--build-context %s: %w", n.Name, err)
			}
			opened = append(opened, c)
			nc.Dir = c.Dir
		}
		out[n.Name] = nc
	}
	return out, closeAll, nil
}

// scratchDir is where fetched contexts are unpacked: <root>/tmp, on the
// root's file system.
func (a *app) scratchDir() string {
	root, err := filepath.Abs(a.root)
	if err != nil {
		root = a.root
	}
	return filepath.Join(root, "tmp")
}

// pullingSource resolves base images against their registry every time
// (--pull), as buildx's --pull does: a stored image of the same name
// does not serve, and an unreachable registry fails the build.
type pullingSource struct{ a *app }

func (p pullingSource) Resolve(ctx context.Context, ref string, plat v1.Platform) (v1.Image, error) {
	img, err := p.a.pullBase(ctx, ref, plat)
	if err != nil {
		var refused *signature.Refusal
		if errors.As(err, &refused) {
			return nil, err
		}
		return nil, fmt.Errorf("--pull: %w", err)
	}
	return img, nil
}

// parseAnnotations reads --annotation.
func parseAnnotations(list []string) ([]exporter.Annotation, error) {
	var out []exporter.Annotation
	for _, s := range list {
		a, err := exporter.ParseAnnotation(s)
		if err != nil {
			return nil, fmt.Errorf("--annotation: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}

// writeMetadata writes --metadata-file.
func writeMetadata(file string, m *exporter.Metadata) error {
	if file == "" {
		return nil
	}
	b, err := m.JSON()
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing metadata file: %w", err)
	}
	return nil
}

// buildPlan is what a build runs with: the solver's options and what the
// CLI does with the result.
type buildPlan struct {
	solver.Options
	annotations   []exporter.Annotation
	remoteContext bool // fetched or streamed: no stat cache
}

// annotateResults adds the --annotation manifest annotations to each
// platform's image.
func annotateResults(results []*solver.Result, anns []exporter.Annotation) {
	for _, r := range results {
		p := r.Platform
		r.Image = exporter.AnnotateImage(r.Image, &p, anns)
	}
}

// writeImageMetadata writes --metadata-file for a single-platform build.
func (a *app) writeImageMetadata(f *buildFlags, outs []output, img v1.Image) error {
	if f.metadataFile == "" {
		return nil
	}
	m, err := exporter.ImageMetadata(img, metadataNames(f.tags, outs))
	if err != nil {
		return err
	}
	return writeMetadata(f.metadataFile, m)
}

// outputNames are the names the image is exported under.
func outputNames(tags []string, outs []output) []string {
	names := append([]string(nil), tags...)
	for _, o := range outs {
		names = append(names, o.names...)
	}
	return names
}

// metadataNames are the output names as buildx's image.name lists them:
// normalized, with their tag ("docker.io/library/app:latest").
func metadataNames(tags []string, outs []output) []string {
	names := outputNames(tags, outs)
	for i, n := range names {
		if r, err := reference.ParseNormalizedNamed(n); err == nil {
			names[i] = reference.TagNameOnly(r).String()
		}
	}
	return names
}

// exportFiles writes the built filesystem: -o type=local or type=tar.
func (a *app) exportFiles(ctx context.Context, o output, files []exporter.Files) error {
	if o.typ == "local" {
		return exporter.WriteLocal(ctx, o.dest, files)
	}
	write := func(w io.Writer) error { return exporter.WriteFilesTar(ctx, w, files) }
	if o.dest == "-" {
		return write(a.stdout)
	}
	return writeArchive(o.dest, write)
}
