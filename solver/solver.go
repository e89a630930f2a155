package solver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/fileop"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/parser"
	"github.com/lade-build/lade/progress"
	"github.com/lade-build/lade/remotecache"
	"github.com/lade-build/lade/runner"
)

// ImageSource resolves a base image reference (FROM, COPY --from=IMAGE).
type ImageSource interface {
	Resolve(ctx context.Context, ref string, platform v1.Platform) (v1.Image, error)
}

// Executor runs one RUN process; *runner.Runner is the real one.
type Executor interface {
	Run(ctx context.Context, spec *runner.Spec) (int, error)
}

// Builder holds the stores a build works against.
type Builder struct {
	Snapshots Snapshotter // OverlaySnapshots in lade
	Content   *cache.Store
	Images    ImageSource
	Exec      Executor
	TmpDir    string // scratch space on the same root; created if missing
	// Index maps step cache keys to layers; nil disables the build cache.
	Index *cache.Index
	// Remote holds the layers that --cache-from records name; nil when no
	// remote cache is in use. A blob is fetched from it only when a step
	// needs its snapshot or the result needs its blob.
	Remote *remotecache.Remote
	// StatCache remembers context file digests across builds; may be nil.
	StatCache *fileop.StatCache
	// CacheMounts holds RUN --mount=type=cache dirs; default <TmpDir>/../cachemounts.
	CacheMounts string
}

// Options describe one build.
type Options struct {
	Dockerfile      *parser.Dockerfile
	ContextDir      string
	DockerfilePath  string            // for <Dockerfile>.dockerignore; may be empty
	BuildArgs       map[string]string // --build-arg values (the CLI resolves K without =V from its env)
	Target          string
	Labels          map[string]string
	Network         string // default|host|none
	Platform        v1.Platform
	NoCache         bool
	NoCacheFilter   []string // stages (name or index) that must not use the cache
	ExplainCache    bool     // print why each step missed the cache
	SourceDateEpoch *time.Time
	Compression     cache.Compression
	Progress        *progress.Printer
	Secrets         map[string][]byte    // --secret values by id (see ParseSecretFlag)
	SSH             map[string]SSHSource // --ssh agents by id (see ParseSSHFlag)
	Allow           []string             // granted entitlements: EntitlementSecurityInsecure
	// Jobs caps how many RUN processes execute at once; 0 means no limit
	// (BuildKit's default): a process cap would make steps that wait on
	// sleep, network or disk queue behind each other while the CPU idles.
	Jobs int
	// Sandbox is what --add-host, --ulimit and --shm-size add to RUN.
	Sandbox Sandbox
	// NamedContexts are the --build-context sources by name: FROM and
	// COPY --from (and RUN --mount from=) read them instead of the image
	// or stage of that name.
	NamedContexts map[string]NamedContext
}

// Result is a built image.
type Result struct {
	Image    v1.Image
	Platform v1.Platform // the target platform it was built for
	// FinalRecords are the cache records of the target's layer chain
	// (--cache-to mode=min); AllRecords those of every stage (mode=max).
	FinalRecords, AllRecords []cache.Record
	// CacheMounts are the ids of the cache mounts the build used.
	CacheMounts []string
}

// Build runs the build and returns the target stage's image.
func (b *Builder) Build(ctx context.Context, o Options) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	rs, err := b.BuildPlatforms(ctx, o, []v1.Platform{o.Platform})
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// build runs one platform's build; sh is what it shares with the builds
// of the other platforms.
func (b *Builder) build(ctx context.Context, o Options, sh *shared) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bd := &build{b: b, o: o, df: o.Dockerfile, sh: sh, cancel: cancel, usedArgs: map[string]bool{}, created: sh.created}
	target, needed, err := bd.plan()
	if err != nil {
		return nil, err
	}
	// An executor that can start a process ahead of need (runner's spare
	// init) does so now when a stage the target needs has a RUN step: the
	// start overlaps loading the base images.
	if w, ok := sh.exec.(interface{ Warm() }); ok && needsRun(needed) {
		w.Warm()
	}
	prehashed := make(chan struct{})
	go func() { defer close(prehashed); bd.prehashContext(ctx, needed) }()
	defer func() { cancel(); <-prehashed }()
	if err := bd.resolveBases(ctx, needed); err != nil {
		return nil, err
	}
	st, err := bd.stageResult(ctx, target)
	if err != nil {
		// A stage that failed cancels the others: report its error, not
		// the cancellation the target stage saw.
		bd.mu.Lock()
		if errors.Is(err, context.Canceled) && bd.firstErr != nil {
			err = bd.firstErr
		}
		bd.mu.Unlock()
		return nil, err
	}
	bd.warnUnusedArgs()
	return bd.result(ctx, st)
}

// check validates the options and fills in the default platform.
func (o *Options) check() error {
	if o.Dockerfile == nil || len(o.Dockerfile.Stages) == 0 {
		return errors.New("no Dockerfile stages")
	}
	if o.Platform.OS == "" {
		o.Platform = HostPlatform()
	}
	o.Platform = images.Normalize(o.Platform)
	if o.Platform.OS != "linux" {
		return fmt.Errorf("platform %s/%s: only linux images can be built", o.Platform.OS, o.Platform.Architecture)
	}
	switch o.Network {
	case "", "default", "host", "none":
	default:
		return fmt.Errorf("network mode %q not supported: use default, host or none", o.Network)
	}
	return nil
}

// plan reads everything the build needs before any stage runs: the
// global ARGs, .dockerignore, the stage DAG, the target and the stages
// it needs (target first), and their required secrets and agents.
func (bd *build) plan() (target *stageNode, needed []*stageNode, err error) {
	if err := bd.resolveGlobalArgs(); err != nil {
		return nil, nil, err
	}
	if err := bd.loadIgnore(); err != nil {
		return nil, nil, err
	}
	if err := bd.initStages(); err != nil {
		return nil, nil, err
	}
	for _, n := range bd.stages {
		bd.scanStage(n)
	}
	target = bd.stages[len(bd.stages)-1]
	if bd.o.Target != "" {
		target = bd.byName[strings.ToLower(bd.o.Target)]
		if target == nil {
			return nil, nil, fmt.Errorf("target stage %q could not be found", bd.o.Target)
		}
	}
	needed = bd.neededStages(target)
	bd.sent = contextPaths(needed)
	bd.fromOwner = map[string]int{}
	for _, n := range needed {
		if i, ok := bd.fromOwner[n.fromKey()]; !ok || n.index < i {
			bd.fromOwner[n.fromKey()] = n.index
		}
	}
	if err := bd.checkRequiredMounts(needed); err != nil {
		return nil, nil, err
	}
	return target, needed, nil
}

// loadIgnore reads .dockerignore, as BuildKit's first vertices show (the
// Dockerfile was read and parsed by the caller).
func (bd *build) loadIgnore() error {
	if bd.sh.ignore != nil {
		bd.ignore = bd.sh.ignore // read once for every platform
		return nil
	}
	bd.o.Progress.Start("[internal] load build definition from "+bd.df.Name).Done(false, nil)
	ignStep := bd.o.Progress.Start("[internal] load .dockerignore")
	patterns, err := fileop.ReadDockerignore(bd.o.ContextDir, bd.o.DockerfilePath)
	if err != nil {
		ignStep.Done(false, err)
		return fmt.Errorf("reading .dockerignore: %w", err)
	}
	if bd.ignore, err = fileop.NewMatcher(patterns); err != nil {
		ignStep.Done(false, err)
		return fmt.Errorf("parsing .dockerignore: %w", err)
	}
	ignStep.Done(false, nil)
	return nil
}

// result assembles the target's image, fetching the remote blobs of its
// cache hits, with the build's cache records and cache mount ids.
func (bd *build) result(ctx context.Context, st *stageState) (*Result, error) {
	// On the target's own config: finalImage reads it from st.
	cfg := &st.img.Config
	if len(bd.o.Labels) > 0 && cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	for k, v := range bd.o.Labels {
		cfg.Labels[k] = v
	}
	// The image is exported from blobs, never from snapshots: only the
	// target's own cache hits have to be fetched.
	if err := bd.fetchBlobs(ctx, st.layers); err != nil {
		return nil, err
	}
	out, err := bd.finalImage(st)
	if err != nil {
		return nil, err
	}
	bd.mu.Lock()
	all := append([]cache.Record(nil), bd.records...)
	var mounts []string
	for id := range bd.cacheMountsUsed {
		mounts = append(mounts, id)
	}
	bd.mu.Unlock()
	sort.Strings(mounts)
	return &Result{Image: out, Platform: bd.o.Platform, FinalRecords: st.records, AllRecords: all, CacheMounts: mounts}, nil
}

// newLex returns a fresh variable expander: shell.Lex keeps per-word
// state, so concurrent stages must not share one.
func (bd *build) newLex() *shell.Lex { return shell.NewLex(bd.df.Escape) }

type build struct {
	b      *Builder
	o      Options
	df     *parser.Dockerfile
	sh     *shared // with the other platforms' builds
	cancel context.CancelFunc
	ignore *fileop.Matcher

	globalArgs []string // KEY=VALUE of meta ARGs that have a value
	stages     []*stageNode
	byName     map[string]*stageNode

	mu       sync.Mutex
	usedArgs map[string]bool
	created  time.Time
	// fromOwner is, per FROM image (name and platform), the first stage the
	// target needs that uses it: only that stage shows its FROM step.
	fromOwner map[string]int
	records   []cache.Record
	// cacheMountsUsed are the RUN --mount=type=cache ids this build used.
	cacheMountsUsed map[string]bool
	firstErr        error       // the first stage failure
	ms              *mountState // RUN mount state, see mounts.go; guarded by mu
	sent            []string    // context paths the needed stages read (fileop.Source.Sent)
}

// stageNode is one vertex of the stage DAG; its result is computed once.
type stageNode struct {
	index       int
	stage       instructions.Stage
	baseName    string       // expanded FROM argument
	deps        []*stageNode // stages it names, found before anything runs
	copySources []string     // literal context paths its COPYs read
	once        sync.Once
	done        chan struct{}
	res         *stageState
	err         error
}

// proxyArgs are usable without an ARG line and never recorded in history,
// as in BuildKit.
var proxyArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true, "NO_PROXY": true, "no_proxy": true,
	"ALL_PROXY": true, "all_proxy": true,
}

// platformArgs are the automatic platform ARGs BuildKit provides.
func (bd *build) platformArgs() map[string]string {
	return platformArgs(bd.o.Platform, HostPlatform())
}

func (bd *build) markUsed(key string) {
	bd.mu.Lock()
	bd.usedArgs[key] = true
	bd.mu.Unlock()
}

// resolveGlobalArgs sets the global scope: the automatic platform ARGs
// (FROM --platform=$BUILDPLATFORM needs no ARG line, as in BuildKit),
// then the meta ARGs.
func (bd *build) resolveGlobalArgs() error {
	auto := bd.platformArgs()
	for _, k := range slices.Sorted(maps.Keys(auto)) {
		bd.globalArgs = setEnv(bd.globalArgs, k, auto[k])
	}
	for _, cmd := range bd.df.MetaArgs {
		for _, kv := range cmd.Args {
			var val *string
			if v, ok := bd.o.BuildArgs[kv.Key]; ok {
				val = &v
				bd.markUsed(kv.Key)
			} else if kv.Value != nil {
				v, _, err := bd.newLex().ProcessWord(*kv.Value, shell.EnvsFromSlice(bd.globalArgs))
				if err == nil {
					err = checkExpanded(v)
				}
				if err != nil {
					return bd.df.At(cmd.Location(), err)
				}
				val = &v
			} else if v, ok := auto[kv.Key]; ok {
				val = &v
			}
			if val != nil {
				bd.globalArgs = setEnv(bd.globalArgs, kv.Key, *val)
			}
		}
	}
	return nil
}

func (bd *build) initStages() error {
	bd.byName = map[string]*stageNode{}
	for i, st := range bd.df.Stages {
		name, _, err := bd.newLex().ProcessWord(st.BaseName, shell.EnvsFromSlice(bd.globalArgs))
		if err != nil {
			return bd.df.At(st.Location, err)
		}
		if name == "" {
			return bd.df.At(st.Location, fmt.Errorf("base name (%s) should not be blank", st.BaseName))
		}
		n := &stageNode{index: i, stage: st, baseName: name, done: make(chan struct{})}
		if st.Name != "" {
			key := strings.ToLower(st.Name)
			if _, dup := bd.byName[key]; dup {
				return bd.df.At(st.Location, fmt.Errorf("duplicate stage name %q", st.Name))
			}
			bd.byName[key] = n
		}
		bd.stages = append(bd.stages, n)
	}
	return nil
}

// lookupStage finds a stage by name or index that is defined before the
// stage at index before (stages may only refer backwards, which also rules
// out cycles).
func (bd *build) lookupStage(ref string, before int) *stageNode {
	if n, ok := bd.byName[strings.ToLower(ref)]; ok && n.index < before {
		return n
	}
	if i, err := strconv.Atoi(ref); err == nil && i >= 0 && i < before {
		return bd.stages[i]
	}
	return nil
}

// stageResult runs n once (and, eagerly, the stages it depends on) and waits.
func (bd *build) stageResult(ctx context.Context, n *stageNode) (*stageState, error) {
	n.once.Do(func() {
		go func() {
			defer close(n.done)
			for _, dep := range bd.staticDeps(n) {
				dep := dep
				go func() { _, _ = bd.stageResult(ctx, dep) }()
			}
			n.res, n.err = bd.runStage(ctx, n)
			if n.err != nil {
				bd.mu.Lock()
				if bd.firstErr == nil && !errors.Is(n.err, context.Canceled) {
					bd.firstErr = n.err
				}
				bd.mu.Unlock()
				bd.cancel()
			}
		}()
	})
	select {
	case <-n.done:
		return n.res, n.err
	case <-ctx.Done():
		<-n.done
		if n.err != nil {
			return nil, n.err
		}
		return nil, ctx.Err()
	}
}

// staticDeps lists the stages n refers to, so they can start in parallel
// before n reaches the instruction that needs them. It is computed once,
// before any stage runs: dispatch expands commands in place, so reading
// them later would race with a running stage.
func (bd *build) staticDeps(n *stageNode) []*stageNode { return n.deps }

// scanStage records what n needs before anything runs: its dependency
// stages and the literal context paths its COPY steps read (for prehashing).
func (bd *build) scanStage(n *stageNode) {
	n.deps = bd.findDeps(n)
	for _, c := range n.stage.Commands {
		c, ok := c.(*instructions.CopyCommand)
		if !ok || c.From != "" {
			continue
		}
		for _, p := range c.SourcePaths {
			if !strings.ContainsAny(p, "$") && !strings.Contains(p, "://") {
				n.copySources = append(n.copySources, p)
			}
		}
	}
}

// neededStages lists target and every stage it depends on, each once:
// target first, then its dependencies depth-first.
func (bd *build) neededStages(target *stageNode) []*stageNode {
	var out []*stageNode
	seen := map[*stageNode]bool{}
	var walk func(n *stageNode)
	walk = func(n *stageNode) {
		if seen[n] {
			return
		}
		seen[n] = true
		out = append(out, n)
		for _, d := range bd.staticDeps(n) {
			walk(d)
		}
	}
	walk(target)
	return out
}

// needsRun tells whether one of stages has a RUN step.
func needsRun(stages []*stageNode) bool {
	for _, n := range stages {
		for _, c := range n.stage.Commands {
			if _, ok := c.(*instructions.RunCommand); ok {
				return true
			}
		}
	}
	return false
}

func (bd *build) findDeps(n *stageNode) []*stageNode {
	seen := map[*stageNode]bool{}
	add := func(ref string) {
		ref, _, _ = bd.newLex().ProcessWord(ref, shell.EnvsFromSlice(bd.globalArgs))
		if _, ok := bd.named(ref); ok {
			return // a named context replaces the stage of that name
		}
		if d := bd.lookupStage(ref, n.index); d != nil {
			seen[d] = true
		}
	}
	add(n.baseName)
	for _, c := range n.stage.Commands {
		switch c := c.(type) {
		case *instructions.CopyCommand:
			if c.From != "" {
				add(c.From)
			}
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(c) {
				if m.From != "" {
					add(m.From)
				}
			}
		}
	}
	out := make([]*stageNode, 0, len(seen))
	for d := range seen {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].index < out[j].index })
	return out
}

// limitedExec runs at most cap(slots) processes at a time (--jobs).
type limitedExec struct {
	Executor
	slots chan struct{}
}

func (l *limitedExec) Run(ctx context.Context, spec *runner.Spec) (int, error) {
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return -1, ctx.Err()
	}
	defer func() { <-l.slots }()
	return l.Executor.Run(ctx, spec)
}

// prehashContext digests the context sources that the stages the target
// needs COPY, while base images are still being pulled; the COPY steps
// share the result (contextChecksum). Only literal paths are hashed.
func (bd *build) prehashContext(ctx context.Context, needed []*stageNode) {
	for _, n := range needed {
		for _, p := range n.copySources {
			if ctx.Err() != nil {
				return
			}
			_, _ = bd.contextChecksum(ctx, p)
		}
	}
}

func (bd *build) warnUnusedArgs() {
	var unused []string
	bd.mu.Lock()
	for k := range bd.o.BuildArgs {
		if !bd.usedArgs[k] && !proxyArgs[k] {
			unused = append(unused, k)
		}
	}
	bd.mu.Unlock()
	if len(unused) > 0 {
		sort.Strings(unused)
		bd.o.Progress.Printf("[Warning] One or more build-args %v were not consumed\n", unused)
	}
}

// setEnv sets KEY=VALUE in an env list, replacing an existing key in place.
func setEnv(env []string, k, v string) []string {
	for i, kv := range env {
		if key, _, _ := strings.Cut(kv, "="); key == k {
			out := append([]string(nil), env...)
			out[i] = k + "=" + v
			return out
		}
	}
	return append(append([]string(nil), env...), k+"="+v)
}

func getEnv(env []string, k string) (string, bool) {
	for _, kv := range env {
		if key, v, _ := strings.Cut(kv, "="); key == k {
			return v, true
		}
	}
	return "", false
}
