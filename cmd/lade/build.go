package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/exporter"
	"github.com/lade-build/lade/parser"
	"github.com/lade-build/lade/solver"
)

func init() {
	commands = append(commands, (*app).buildCmd)
}

type buildFlags struct {
	tags      []string
	file      string
	buildArgs []string
	target    string
	labels    []string
	iidfile   string
	network   string
	platform  string
	noCache   bool
	progress  string
	outputs   []string
	quiet     bool
}

func (a *app) buildCmd() *cobra.Command {
	f := &buildFlags{}
	c := &cobra.Command{
		Use:   "build [OPTIONS] CONTEXT",
		Short: "Build an image from a Dockerfile",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.build(cmd.Context(), f, args[0])
		},
	}
	fl := c.Flags()
	fl.StringArrayVarP(&f.tags, "tag", "t", nil, `name and optionally a tag ("name:tag")`)
	fl.StringVarP(&f.file, "file", "f", "", `name of the Dockerfile (default "CONTEXT/Dockerfile"; "-" reads stdin)`)
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "set a build-time variable (KEY=VALUE, or KEY to take it from the environment)")
	fl.StringVar(&f.target, "target", "", "build this stage")
	fl.StringArrayVar(&f.labels, "label", nil, "set an image label (KEY=VALUE)")
	fl.StringVar(&f.iidfile, "iidfile", "", "write the image ID to this file")
	fl.StringVar(&f.network, "network", "default", "network for RUN steps: default (host), host or none")
	fl.StringVar(&f.platform, "platform", "linux/amd64", "target platform")
	fl.BoolVar(&f.noCache, "no-cache", false, "do not use the build cache")
	fl.StringVar(&f.progress, "progress", "auto", "progress output: auto, plain or quiet")
	fl.StringArrayVarP(&f.outputs, "output", "o", nil, "output destination: type=oci|docker|image[,dest=FILE|-][,name=NAME]")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print only the image ID")
	return c
}

type output struct {
	typ         string
	dest        string
	names       []string
	compression cache.Compression
}

func parseOutput(s string) (output, error) {
	o := output{typ: "image"}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			if k == "-" || !strings.Contains(s, "=") {
				// buildx shorthand: -o DIR or -o - means a local/tar export; we take it as an OCI tar.
				o.typ, o.dest = "oci", k
				continue
			}
			return o, fmt.Errorf("invalid output %q: expected key=value", kv)
		}
		switch k {
		case "type":
			o.typ = v
		case "dest":
			o.dest = v
		case "name":
			o.names = append(o.names, strings.Split(v, ",")...)
		case "compression":
			o.compression = cache.Compression(v)
		default:
			return o, fmt.Errorf("invalid output %q: unknown key %q", s, k)
		}
	}
	switch o.typ {
	case "oci", "docker":
		if o.dest == "" {
			return o, fmt.Errorf("output type=%s needs dest=FILE (or dest=-)", o.typ)
		}
	case "image":
	default:
		return o, fmt.Errorf("output type %q not supported: use oci, docker or image", o.typ)
	}
	return o, nil
}

func parseKV(list []string, fromEnv bool) (map[string]string, error) {
	m := map[string]string{}
	for _, s := range list {
		k, v, ok := strings.Cut(s, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid value %q: empty key", s)
		}
		if !ok {
			if !fromEnv {
				return nil, fmt.Errorf("invalid value %q: expected KEY=VALUE", s)
			}
			// docker: a bare KEY takes its value from the environment, and is
			// skipped when the environment does not have it.
			ev, found := os.LookupEnv(k)
			if !found {
				continue
			}
			v = ev
		}
		m[k] = v
	}
	return m, nil
}

func sourceDateEpoch() (*time.Time, error) {
	s, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("invalid SOURCE_DATE_EPOCH %q: %w", s, err)
	}
	t := time.Unix(n, 0).UTC()
	return &t, nil
}

func (a *app) build(ctx context.Context, f *buildFlags, contextArg string) error {
	var outs []output
	for _, s := range f.outputs {
		o, err := parseOutput(s)
		if err != nil {
			return err
		}
		outs = append(outs, o)
	}
	if len(outs) == 0 {
		outs = []output{{typ: "image"}}
	}
	buildArgs, err := parseKV(f.buildArgs, true)
	if err != nil {
		return fmt.Errorf("--build-arg: %w", err)
	}
	labels, err := parseKV(f.labels, false)
	if err != nil {
		return fmt.Errorf("--label: %w", err)
	}
	plat, err := v1.ParsePlatform(f.platform)
	if err != nil {
		return fmt.Errorf("--platform: %w", err)
	}
	epoch, err := sourceDateEpoch()
	if err != nil {
		return err
	}
	ctxDir, err := filepath.Abs(contextArg)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(ctxDir); err != nil || !fi.IsDir() {
		return fmt.Errorf("unable to prepare context: path %q not found or not a directory", contextArg)
	}

	// The Dockerfile: -f FILE (relative to the working dir, as docker), - for stdin.
	dfPath := filepath.Join(ctxDir, "Dockerfile")
	var dfData []byte
	switch {
	case f.file == "-":
		dfData, err = io.ReadAll(io.LimitReader(a.stdin, parser.MaxSize+1))
		dfPath = ""
	case f.file != "":
		dfPath, _ = filepath.Abs(f.file)
		dfData, err = os.ReadFile(dfPath)
	default:
		dfData, err = os.ReadFile(dfPath)
	}
	if err != nil {
		return fmt.Errorf("failed to read dockerfile: %w", err)
	}
	name := "Dockerfile"
	if dfPath != "" {
		name = filepath.Base(dfPath)
	}
	df, err := parser.Parse(bytes.NewReader(dfData), name)
	if err != nil {
		return err
	}

	var progOut io.Writer = a.stderr
	if f.quiet || f.progress == "quiet" {
		progOut = io.Discard
	}
	prog := solver.NewProgress(progOut)
	for _, w := range df.Warnings {
		prog.Printf("WARNING: %s\n", w)
	}
	if err := a.open(); err != nil {
		return err
	}
	b := &solver.Builder{
		Snapshots: a.snapshots,
		Content:   a.content,
		Images:    a,
		Exec:      a.runner(),
		TmpDir:    filepath.Join(a.root, "tmp"),
	}
	comp := cache.Compression("gzip")
	for _, o := range outs {
		if o.compression != "" {
			comp = o.compression
		}
	}
	res, err := b.Build(ctx, solver.Options{
		Dockerfile:      df,
		ContextDir:      ctxDir,
		DockerfilePath:  dfPath,
		BuildArgs:       buildArgs,
		Target:          f.target,
		Labels:          labels,
		Network:         f.network,
		Platform:        *plat,
		NoCache:         f.noCache,
		SourceDateEpoch: epoch,
		Compression:     comp,
		Progress:        prog,
	})
	if err != nil {
		return err
	}
	for _, o := range outs {
		if err := a.export(ctx, res.Image, o, f.tags, prog); err != nil {
			return err
		}
	}
	id, err := res.Image.ConfigName()
	if err != nil {
		return err
	}
	if f.iidfile != "" {
		if err := os.WriteFile(f.iidfile, []byte(id.String()), 0o644); err != nil {
			return fmt.Errorf("writing iidfile: %w", err)
		}
	}
	if f.quiet {
		fmt.Fprintln(a.stdout, id.String())
	}
	return nil
}

func (a *app) export(ctx context.Context, img v1.Image, o output, tags []string, prog *solver.Progress) error {
	names := append(append([]string(nil), tags...), o.names...)
	step := prog.Start(fmt.Sprintf("exporting to %s", o.typ))
	err := func() error {
		switch o.typ {
		case "image":
			if len(names) == 0 {
				return a.images.Store(ctx, img)
			}
			for _, n := range names {
				if err := a.images.Tag(ctx, n, img); err != nil {
					return err
				}
			}
			return nil
		default:
			write := exporter.WriteOCI
			if o.typ == "docker" {
				write = exporter.WriteDocker
			}
			if o.dest == "-" {
				return write(ctx, a.stdout, img, names)
			}
			return writeFileAtomic(o.dest, func(w io.Writer) error { return write(ctx, w, img, names) })
		}
	}()
	step.Done(true, err)
	if err != nil {
		return fmt.Errorf("exporting %s image: %w", o.typ, err)
	}
	return nil
}

// writeFileAtomic writes to a temp file beside path and renames it into
// place, so a failed export never leaves a half-written archive.
func writeFileAtomic(path string, fn func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := fn(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
