package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/buildctx"
	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/exporter"
	"github.com/lade-build/lade/internal/atomicfile"
	"github.com/lade-build/lade/localbuild"
	"github.com/lade-build/lade/parser"
	"github.com/lade-build/lade/progress"
	"github.com/lade-build/lade/remotecache"
	"github.com/lade-build/lade/solver"
)

func init() {
	commands = append(commands, (*app).buildCmd)
}

type buildFlags struct {
	tags          []string
	file          string
	buildArgs     []string
	target        string
	labels        []string
	iidfile       string
	network       string
	platforms     []string
	noCache       bool
	noCacheFilter []string
	explainCache  bool
	cacheTo       []string
	cacheFrom     []string
	push          bool
	progress      string
	outputs       []string
	quiet         bool
	secrets       []string
	ssh           []string
	allow         []string
	jobs          int
	verifyRepro   bool
	buildxFlags
	attestFlags attestFlags
}

func (a *app) buildCmd() *cobra.Command {
	f := &buildFlags{}
	var fl *pflag.FlagSet
	c := command("build [OPTIONS] PATH | URL | -", "Build an image from a Dockerfile", cobra.ExactArgs(1), func(ctx context.Context, args []string) error {
		a.noteLegacyFlags(fl)
		return a.build(ctx, f, args[0])
	})
	fl = c.Flags()
	fl.StringArrayVarP(&f.tags, "tag", "t", nil, `name and optionally a tag ("name:tag")`)
	fl.StringVarP(&f.file, "file", "f", "", `name of the Dockerfile (default "CONTEXT/Dockerfile"; "-" reads stdin; for a git, URL or stdin context, a path inside it)`)
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "set a build-time variable (KEY=VALUE, or KEY to take it from the environment)")
	fl.StringVar(&f.target, "target", "", "build this stage")
	fl.StringArrayVar(&f.labels, "label", nil, "set an image label (KEY=VALUE)")
	fl.StringVar(&f.iidfile, "iidfile", "", "write the image ID to this file")
	fl.StringVar(&f.network, "network", "default", "network for RUN steps: default (host), host or none")
	fl.StringArrayVar(&f.platforms, "platform", nil, "target platforms, comma-separated or repeated: os/arch[/variant] (default: the host's)")
	fl.BoolVar(&f.noCache, "no-cache", false, "do not use the build cache")
	fl.StringSliceVar(&f.noCacheFilter, "no-cache-filter", nil, "do not use the build cache for these stages")
	fl.BoolVar(&f.explainCache, "explain-cache", false, "print why each step missed the cache")
	fl.StringArrayVar(&f.cacheTo, "cache-to", nil, "export the build cache: type=registry,ref=REF[,mode=min|max] or type=local,dest=DIR")
	fl.StringArrayVar(&f.cacheFrom, "cache-from", nil, "import a build cache: type=registry,ref=REF or type=local,src=DIR")
	fl.StringVar(&f.progress, "progress", "auto", "progress output: auto, tty, plain, rawjson or quiet")
	// No default cap, as BuildKit: a RUN step that waits (sleep, network)
	// must not hold back another; the kernel schedules the CPU.
	fl.IntVar(&f.jobs, "jobs", 0, "run at most this many RUN steps at once (0: no limit)")
	fl.StringArrayVarP(&f.outputs, "output", "o", nil, "output destination: type=image|registry|oci|docker|local|tar[,dest=PATH|-][,name=NAME]; DIR means type=local,dest=DIR and - a tar of the files on stdout")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print only the image ID")
	fl.BoolVar(&f.push, "push", false, "push the image to its registry (shorthand for --output=type=registry)")
	fl.StringArrayVar(&f.secrets, "secret", nil, "secret for RUN --mount=type=secret: id=ID,src=FILE | id=ID,env=VAR | id=ID")
	fl.StringArrayVar(&f.ssh, "ssh", nil, "SSH agent for RUN --mount=type=ssh: default | ID=SOCKET | ID=KEYFILE[,KEYFILE]")
	fl.StringArrayVar(&f.allow, "allow", nil, "grant an entitlement: security.insecure, network.host")
	fl.BoolVar(&f.verifyRepro, "verify-repro", false, "build again from scratch in a fresh root and fail if the images differ")
	addBuildxFlags(fl, &f.buildxFlags)
	addAttestFlags(fl, &f.attestFlags)
	a.policyFlag(c)
	return c
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
	outs, err := parseOutputs(f)
	if err != nil {
		return err
	}
	opts, done, err := a.buildOptions(ctx, f, contextArg, outs)
	if err != nil {
		return err
	}
	defer done()
	plats, err := buildPlatforms(f, outs)
	if err != nil {
		return err
	}
	mode := f.progress
	if f.quiet {
		mode = progress.ModeQuiet
	}
	prog, err := progress.New(a.stderr, mode)
	if err != nil {
		return err
	}
	defer prog.Close()
	for _, w := range opts.Dockerfile.Warnings {
		prog.Printf("WARNING: %s\n", w)
	}
	opts.Progress = prog
	att, err := newBuildAttest(f, outs, len(plats), prog)
	if err != nil {
		return err
	}
	a.prepareRepro(ctx, f, &opts.Options, prog)
	if err := a.open(); err != nil {
		return err
	}
	// The build-in-progress lease: prune waits until this build has
	// recorded (as cache keys and images) everything it made or used.
	release, err := a.content.HoldGC(ctx)
	if err != nil {
		return err
	}
	defer release()
	b, closeBuilder, err := a.builder(opts.ContextDir, !opts.remoteContext)
	if err != nil {
		return err
	}
	defer closeBuilder()
	if f.pull {
		b.Images = pullingSource{a}
	}
	if att != nil {
		att.record(b, opts.Options)
	}
	cacheTo, cacheFrom, err := parseCacheFlags(f)
	if err != nil {
		return err
	}
	if len(cacheFrom) > 0 && !f.noCache {
		b.Remote = remotecache.Import(ctx, a.remoteCache(prog), cacheFrom, b.Index)
	}
	results, err := b.BuildPlatforms(ctx, opts.Options, plats)
	if err != nil {
		return err
	}
	if len(results) > 1 {
		annotateResults(results, opts.annotations)
		return a.finishIndex(ctx, f, outs, cacheTo, results, b.Remote, prog, att)
	}
	ro := opts
	ro.Platform = plats[0]
	return a.finishImage(ctx, f, outs, cacheTo, ro, results[0], b.Remote, prog, att)
}

// finishImage ends a single-platform build: the reproducibility check,
// the annotations, every output, --cache-to, --metadata-file and the
// image ID; with attestations (att non-nil), an index as finishIndex.
func (a *app) finishImage(ctx context.Context, f *buildFlags, outs []output, cacheTo []remotecache.Spec,
	opts buildPlan, res *solver.Result, remote *remotecache.Remote, prog *progress.Printer, att *buildAttest) error {
	if err := a.verifyRepro(ctx, f, opts.Options, res.Image, prog); err != nil {
		return err // before any export: nothing irreproducible is pushed
	}
	annotateResults([]*solver.Result{res}, opts.annotations)
	if att != nil {
		return a.finishIndex(ctx, f, outs, cacheTo, []*solver.Result{res}, remote, prog, att)
	}
	if slices.ContainsFunc(opts.annotations, func(an exporter.Annotation) bool { return an.Index }) {
		prog.Printf("WARNING: index annotations are ignored: a single-platform build makes no image index\n")
	}
	for _, o := range outs {
		if err := a.export(ctx, res.Image, o, f.tags, prog); err != nil {
			return err
		}
	}
	if err := remotecache.Export(ctx, a.remoteCache(prog), cacheTo, cacheBuild(res), remote); err != nil {
		return err
	}
	if err := a.writeImageMetadata(f, outs, res.Image); err != nil {
		return err
	}
	return a.reportImage(f, res.Image)
}

// buildPlatforms reads --platform (the host's when not given) and
// refuses what a multi-platform build cannot export, before building.
func buildPlatforms(f *buildFlags, outs []output) ([]v1.Platform, error) {
	plats, err := solver.ParsePlatforms(f.platforms)
	if err != nil {
		return nil, fmt.Errorf("--platform: %w", err)
	}
	if len(plats) == 0 {
		plats = []v1.Platform{solver.HostPlatform()}
	}
	if len(plats) > 1 {
		if f.verifyRepro {
			return nil, errors.New("--verify-repro checks one platform's image: build one --platform at a time")
		}
		for _, o := range outs {
			if o.typ == "docker" {
				// buildx's words: a docker archive holds no image index.
				return nil, errors.New("docker exporter does not currently support exporting manifest lists")
			}
		}
	}
	return plats, nil
}

// buildOptions are the solver's options from the flags, the context
// (made ready here: done removes what was fetched for it) and the
// Dockerfile.
func (a *app) buildOptions(ctx context.Context, f *buildFlags, contextArg string, outs []output) (o buildPlan, done func(), err error) {
	o.Options = solver.Options{
		Target: f.target, Network: f.network, NoCache: f.noCache,
		NoCacheFilter: f.noCacheFilter, ExplainCache: f.explainCache,
		Allow: f.allow, Jobs: f.jobs, Compression: cache.Compression("gzip"),
	}
	if err := a.flagOptions(f, &o); err != nil {
		return o, nil, err
	}
	if contextArg == "-" && f.file == "-" {
		return o, nil, errors.New("invalid argument: can't use stdin for both build context and dockerfile")
	}
	src, err := buildctx.Open(ctx, contextArg, a.stdin, a.scratchDir())
	if err != nil {
		return o, nil, err
	}
	named, closeNamed, err := a.namedContexts(ctx, &f.buildxFlags)
	if err != nil {
		src.Close()
		return o, nil, err
	}
	done = func() { closeNamed(); src.Close() }
	o.ContextDir, o.remoteContext, o.NamedContexts = src.Dir, src.Remote, named
	if o.Dockerfile, o.DockerfilePath, err = a.readDockerfile(f.file, src); err != nil {
		done()
		return o, nil, err
	}
	for _, out := range outs {
		if out.compression != "" {
			o.Compression = out.compression
		}
	}
	return o, done, nil
}

// flagOptions reads the flags that need no context into o.
func (a *app) flagOptions(f *buildFlags, o *buildPlan) (err error) {
	if o.BuildArgs, err = parseKV(f.buildArgs, true); err != nil {
		return fmt.Errorf("--build-arg: %w", err)
	}
	if o.Labels, err = parseKV(f.labels, false); err != nil {
		return fmt.Errorf("--label: %w", err)
	}
	if o.SourceDateEpoch, err = sourceDateEpoch(); err != nil {
		return err
	}
	if o.Secrets, o.SSH, err = parseBuildSecrets(f); err != nil {
		return err
	}
	if o.Sandbox, err = buildSandbox(&f.buildxFlags); err != nil {
		return err
	}
	o.annotations, err = parseAnnotations(f.annotations)
	return err
}

// readDockerfile reads and parses the Dockerfile: the one the context
// source was (build - < Dockerfile), -f - from stdin, -f FILE (relative
// to the working dir, as docker, or for a remote context inside it), or
// the context's Dockerfile; path is "" when it has no file.
func (a *app) readDockerfile(file string, src *buildctx.Context) (df *parser.Dockerfile, path string, err error) {
	path = filepath.Join(src.Dir, "Dockerfile")
	var data []byte
	switch {
	case src.Dockerfile != nil:
		data, path = src.Dockerfile, ""
	case file == "-":
		data, err = io.ReadAll(io.LimitReader(a.stdin, parser.MaxSize+1))
		path = ""
	case file != "" && src.Remote:
		if path, err = securejoin.SecureJoin(src.Dir, file); err == nil {
			data, err = os.ReadFile(path)
		}
	case file != "":
		path, _ = filepath.Abs(file)
		data, err = os.ReadFile(path)
	default:
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("failed to read dockerfile: %w", err)
	}
	name := "Dockerfile"
	if path != "" {
		name = filepath.Base(path)
	}
	df, err = parser.Parse(bytes.NewReader(data), name)
	if err != nil {
		return nil, "", err
	}
	return df, path, nil
}

// builder wires the solver to lade's stores for a build of contextDir
// (localbuild); the returned func saves the context's stat cache and
// stops the runner.
func (a *app) builder(contextDir string, statCache bool) (*solver.Builder, func(), error) {
	return localbuild.Root{Dir: a.root, Content: a.content, Snapshots: a.snapshots, Images: a}.Builder(contextDir, statCache)
}

// parseCacheFlags reads --cache-to and --cache-from.
func parseCacheFlags(f *buildFlags) (cacheTo, cacheFrom []remotecache.Spec, err error) {
	if cacheTo, err = remotecache.ParseSpecs(f.cacheTo, remotecache.To); err != nil {
		return nil, nil, fmt.Errorf("--cache-to: %w", err)
	}
	if cacheFrom, err = remotecache.ParseSpecs(f.cacheFrom, remotecache.From); err != nil {
		return nil, nil, fmt.Errorf("--cache-from: %w", err)
	}
	return cacheTo, cacheFrom, nil
}

// reportImage writes the built image's ID to --iidfile, and to stdout
// with -q.
func (a *app) reportImage(f *buildFlags, img v1.Image) error {
	id, err := img.ConfigName()
	if err != nil {
		return err
	}
	return a.reportID(f, id)
}

// reportID writes id to --iidfile, and to stdout with -q.
func (a *app) reportID(f *buildFlags, id v1.Hash) error {
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

func (a *app) export(ctx context.Context, img v1.Image, o output, tags []string, prog *progress.Printer) error {
	names := append(append([]string(nil), tags...), o.names...)
	step := prog.Start(fmt.Sprintf("exporting to %s", o.typ))
	err := func() error {
		if o.force && o.compression != "" {
			var err error
			if img, err = a.images.Recompress(ctx, img, o.compression, o.level); err != nil {
				return err
			}
		}
		if o.push {
			return a.exportPush(ctx, img, names, prog)
		}
		switch o.typ {
		case "local", "tar":
			return a.exportFiles(ctx, o, []exporter.Files{{Image: img}})
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
			return writeArchive(o.dest, func(w io.Writer) error { return write(ctx, w, img, names) })
		}
	}()
	step.Done(true, err)
	if err != nil {
		return fmt.Errorf("exporting %s image: %w", o.typ, err)
	}
	return nil
}

// writeFileAtomic writes path atomically and fsynced (atomicfile), for
// lade's own files (credentials: perm 0600). perm 0
// means the mode a plain create would give (0666 less the umask).
func writeFileAtomic(path string, perm os.FileMode, fn func(io.Writer) error) error {
	return replaceFile(path, perm, true, fn)
}

// writeArchive writes an exported archive the same way but without the
// fsync, as `docker save -o` and buildx's tar outputs do: a failed or
// killed export still never leaves a half-written archive at path (the
// rename is atomic), only a power cut can, and the archive can be made
// again from the store. Its mode is what a plain create would give.
func writeArchive(path string, fn func(io.Writer) error) error {
	return replaceFile(path, 0, false, fn)
}

func replaceFile(path string, perm os.FileMode, durable bool, fn func(io.Writer) error) error {
	o := atomicfile.Options{Perm: perm, Sync: durable}
	if durable {
		o.Wrap = func(f *os.File) io.Writer { return cache.Writeback(f) }
	}
	// The file replaced is freed when its last reference goes: holding one
	// across the rename moves that (60 ms for a 100 MB archive here) off
	// the command's path. O_PATH opens nothing, so a FIFO cannot block.
	old, oerr := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	err := atomicfile.Write(path, o, fn)
	if oerr == nil {
		released.Add(1)
		go func() {
			defer released.Done()
			unix.Close(old)
		}()
	}
	return err
}

// released counts the replaced files still being freed; Run waits for it.
var released sync.WaitGroup

// parseBuildSecrets reads --secret and --ssh values and checks --allow, so
// a missing file or key fails before anything is built.
func parseBuildSecrets(f *buildFlags) (map[string][]byte, map[string]solver.SSHSource, error) {
	secrets := map[string][]byte{}
	for _, s := range f.secrets {
		id, v, err := solver.ParseSecretFlag(s, os.LookupEnv)
		if err != nil {
			return nil, nil, fmt.Errorf("--secret: %w", err)
		}
		secrets[id] = v
	}
	agents := map[string]solver.SSHSource{}
	for _, s := range f.ssh {
		id, src, err := solver.ParseSSHFlag(s, os.LookupEnv)
		if err != nil {
			return nil, nil, fmt.Errorf("--ssh: %w", err)
		}
		agents[id] = src
	}
	for _, e := range f.allow {
		if e != solver.EntitlementSecurityInsecure && e != solver.EntitlementNetworkHost {
			return nil, nil, fmt.Errorf("--allow: unknown entitlement %q: use %s or %s", e, solver.EntitlementSecurityInsecure, solver.EntitlementNetworkHost)
		}
	}
	return secrets, agents, nil
}
