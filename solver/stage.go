package solver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	dfparser "github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/images"
)

const (
	defaultPath    = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	historyComment = "buildkit.dockerfile.v0"
)

// stageState is the image a stage has built so far plus its build-time
// environment (image env and ARGs, as BuildKit's LLB state keeps it).
type stageState struct {
	key         string // cache key of the last layer step (or of the base)
	baseHist    int    // history entries that came with the base image
	lastInfo    cache.LayerInfo
	lastCreated time.Time // when lastInfo's layer was first built
	records     []cache.Record
	img         dockerspec.DockerOCIImage
	layers      []v1.Layer
	diffIDs     []v1.Hash
	env         []string
	args        []instructions.KeyValuePairOptional
	cmdSet      bool
	from        *fromVertex // the base image's FROM step; nil for scratch and stages
	// platform is what the stage is built for: its FROM --platform, else
	// the target's; a stage built on a stage keeps that stage's.
	platform v1.Platform
}

// fromVertex is what a stage's "FROM image" progress step shows.
type fromVertex struct {
	name     string // "FROM docker.io/library/busybox:latest@sha256:…"
	show     bool   // BuildKit shows none for an image without layers
	unpacked bool   // some of its layers were not unpacked when the build began
}

func (s *stageState) clone() *stageState {
	c := *s
	b, _ := json.Marshal(s.img)
	c.img = dockerspec.DockerOCIImage{}
	_ = json.Unmarshal(b, &c.img)
	c.layers = append([]v1.Layer(nil), s.layers...)
	c.diffIDs = append([]v1.Hash(nil), s.diffIDs...)
	c.env = append([]string(nil), s.env...)
	c.args = append([]instructions.KeyValuePairOptional(nil), s.args...)
	c.records = append([]cache.Record(nil), s.records...)
	return &c
}

// stageCtx carries what one stage's instructions need.
type stageCtx struct {
	bd      *build
	n       *stageNode
	st      *stageState
	name    string // stage name or stage-N
	step    int    // position of the instruction, for the cache slot
	label   string // progress prefix: name, or "" for a single stage
	vertex  int    // progress: numbered steps so far (see vertexname.go)
	total   int
	onbuild bool // dispatching an ONBUILD trigger
}

func (bd *build) runStage(ctx context.Context, n *stageNode) (*stageState, error) {
	st, err := bd.baseState(ctx, n)
	if err != nil {
		return nil, bd.df.At(n.stage.Location, err)
	}
	sc := &stageCtx{bd: bd, n: n, st: st, name: n.stage.Name}
	if sc.name == "" {
		sc.name = fmt.Sprintf("stage-%d", n.index)
	}
	if len(bd.df.Stages) > 1 {
		sc.label = sc.name
	}
	if bd.sh.multi {
		sc.label = strings.TrimSpace(platformLabel(st.platform, bd.o.Platform) + " " + sc.label)
	}
	cmds := n.stage.Commands
	// ONBUILD triggers of the base run first, then are dropped (BuildKit).
	triggers, err := parseTriggers(st.img.Config.OnBuild)
	if err != nil {
		return nil, bd.df.At(n.stage.Location, fmt.Errorf("parsing ONBUILD trigger: %w", err))
	}
	st.img.Config.OnBuild = nil
	if fill, ok := bd.namedDirCopy(n); ok {
		// FROM a directory context: its files are the stage's first layer.
		filled, err := parseTriggers(fill)
		if err != nil {
			return nil, err
		}
		cmds = append(filled, cmds...)
	}
	all := append(triggers, cmds...)
	sc.total = stageTotal(st.from != nil, triggers, cmds)
	sc.fromStep()
	for i, c := range all {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sc.step = i + 2
		sc.onbuild = i < len(triggers)
		loc := c.Location()
		if i < len(triggers) {
			loc = n.stage.Location
		}
		if err := sc.dispatch(ctx, c); err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return nil, err
			}
			return nil, bd.df.At(loc, fmt.Errorf("%s failed: %w", strings.ToUpper(c.Name()), err))
		}
	}
	return st, nil
}

func parseTriggers(triggers []string) ([]instructions.Command, error) {
	var out []instructions.Command
	for _, t := range triggers {
		res, err := dfparser.Parse(strings.NewReader(t))
		if err != nil {
			return nil, err
		}
		for _, node := range res.AST.Children {
			switch strings.ToLower(node.Value) {
			case "onbuild", "from", "maintainer":
				return nil, fmt.Errorf("%s isn't allowed as an ONBUILD trigger", strings.ToUpper(node.Value))
			}
			c, err := instructions.ParseCommand(node)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// baseStage is the earlier stage n's FROM names, if it names one (and no
// named context takes the name).
func (bd *build) baseStage(n *stageNode) *stageNode {
	if _, isNamed := bd.named(n.baseName); isNamed {
		return nil
	}
	if dep := bd.lookupStage(n.baseName, n.index); dep != nil && dep.stage.Name != "" && strings.EqualFold(dep.stage.Name, n.baseName) {
		return dep
	}
	return nil
}

// resolveBases resolves the FROM images of the needed stages at once,
// before any step runs, as BuildKit resolves them while converting the
// Dockerfile: an image the ImageSource refuses (the signature policy)
// fails the build before anything of it has run. The first failing
// stage's error is returned; runStage finds the others resolved.
func (bd *build) resolveBases(ctx context.Context, needed []*stageNode) error {
	errs := make([]error, len(needed))
	var wg sync.WaitGroup
	for i, n := range needed {
		if _, isNamed := bd.named(n.baseName); isNamed || bd.baseStage(n) != nil || strings.EqualFold(n.baseName, "scratch") {
			continue
		}
		p, err := bd.stagePlatform(n)
		if err != nil {
			continue // runStage reports it
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = bd.imageState(ctx, n.baseName, p)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return bd.df.At(needed[i].stage.Location, err)
		}
	}
	return nil
}

// baseState resolves FROM: an earlier stage, scratch, or an image.
func (bd *build) baseState(ctx context.Context, n *stageNode) (*stageState, error) {
	var st *stageState
	nc, isNamed := bd.named(n.baseName)
	if dep := bd.baseStage(n); dep != nil {
		parent, err := bd.stageResult(ctx, dep)
		if err != nil {
			return nil, err
		}
		// As BuildKit's: a stage built on a stage continues its build
		// state, so the parent's ARGs keep their values (and stay build
		// args for RUN's history and cache key) and can be redeclared.
		st = parent.clone()
		st.cmdSet = false
		st.from = nil
		return st, nil
	}
	p, err := bd.stagePlatform(n)
	if err != nil {
		return nil, err
	}
	if isNamed {
		if st, err = bd.namedBase(ctx, nc, p); err != nil {
			return nil, err
		}
	} else if strings.EqualFold(n.baseName, "scratch") {
		st = &stageState{}
		st.img.OS, st.img.Architecture, st.img.Variant = p.OS, p.Architecture, p.Variant
		st.img.RootFS.Type = "layers"
		st.img.Config.WorkingDir = "/" // as BuildKit's empty image
		st.key = "scratch " + p.String()
	} else {
		if st, err = bd.imageState(ctx, n.baseName, p); err != nil {
			return nil, err
		}
		bd.checkBasePlatform(n, st, p)
	}
	st.platform = p
	if _, ok := getEnv(st.img.Config.Env, "PATH"); !ok {
		st.img.Config.Env = append(st.img.Config.Env, "PATH="+defaultPath)
	}
	st.env = append([]string(nil), st.img.Config.Env...)
	return st, nil
}

// stagePlatform is the platform a stage's FROM --platform names (with
// the global scope's args, the automatic platform ones among them), else
// the target's.
func (bd *build) stagePlatform(n *stageNode) (v1.Platform, error) {
	if n.stage.Platform == "" {
		return bd.o.Platform, nil
	}
	v, _, err := bd.newLex().ProcessWord(n.stage.Platform, shell.EnvsFromSlice(bd.globalArgs))
	if err != nil {
		return v1.Platform{}, err
	}
	p, err := v1.ParsePlatform(v)
	if err != nil {
		return v1.Platform{}, fmt.Errorf("parsing platform %q: %w", v, err)
	}
	return images.Normalize(*p), nil
}

// checkBasePlatform warns, as BuildKit's InvalidBaseImagePlatform check
// does, when the base image is not of the platform the stage wanted (a
// single-platform image of another architecture). The image keeps its
// own config: it says what the image really is.
func (bd *build) checkBasePlatform(n *stageNode, st *stageState, want v1.Platform) {
	have := v1.Platform{OS: st.img.OS, Architecture: st.img.Architecture, Variant: st.img.Variant}
	if have.OS == "" || have.Architecture == "" || images.PlatformMatches(have, want) {
		return
	}
	line := 0
	if len(n.stage.Location) > 0 {
		line = n.stage.Location[0].Start.Line
	}
	bd.o.Progress.Printf("WARNING: InvalidBaseImagePlatform: Base image %s was pulled with platform %q, expected %q for current build (line %d)\n",
		n.baseName, images.PlatformString(images.Normalize(have)), images.PlatformString(want), line)
}

// errStageLater is fromSource's answer for a stage defined after the one
// that reads it; each reader words its own error, as BuildKit does.
var errStageLater = errors.New("stage is defined later")

// fromSource resolves what COPY --from or RUN --mount from= names: an
// earlier stage, by name or index (which is run first if needed), else an
// image. desc keys a step on the source's content, not on how it was
// made.
func (sc *stageCtx) fromSource(ctx context.Context, from string) (st *stageState, desc string, err error) {
	bd := sc.bd
	if nc, ok := bd.named(from); ok {
		if nc.Dir != "" {
			return nil, "", errNamedDir
		}
		if st, err = bd.namedImageState(ctx, nc, sc.st.platform); err != nil {
			return nil, "", err
		}
		return st, "image " + chainID(st.diffIDs), nil
	}
	if dep := bd.lookupStage(from, sc.n.index); dep != nil {
		if st, err = bd.stageResult(ctx, dep); err != nil {
			return nil, "", err
		}
		return st, "stage " + chainID(st.diffIDs), nil
	}
	if bd.byName[strings.ToLower(from)] != nil {
		return nil, "", errStageLater
	}
	if st, err = bd.imageState(ctx, from, sc.st.platform); err != nil {
		return nil, "", err
	}
	return st, "image " + chainID(st.diffIDs), nil
}

// imageFuture resolves one image once per build (of all its platforms),
// however many stages and COPY --from name it.
type imageFuture struct {
	once sync.Once
	st   *stageState
	err  error
}

// imageState pulls (or finds) an image; its layers are unpacked only when
// a step needs them. The result is shared: callers get a clone.
func (bd *build) imageState(ctx context.Context, ref string, p v1.Platform) (*stageState, error) {
	return bd.sourceState(ctx, ref, ref, bd.b.Images, p)
}

// sourceState is imageState with the image resolved by src, shared
// under name.
func (bd *build) sourceState(ctx context.Context, name, ref string, src ImageSource, p v1.Platform) (*stageState, error) {
	key := name + "|" + p.String()
	sh := bd.sh
	sh.mu.Lock()
	if sh.imgs == nil {
		sh.imgs = map[string]*imageFuture{}
	}
	f := sh.imgs[key]
	if f == nil {
		f = &imageFuture{}
		sh.imgs[key] = f
	}
	sh.mu.Unlock()
	f.once.Do(func() { f.st, f.err = bd.resolveImage(ctx, ref, src, p) })
	if f.err != nil {
		return nil, f.err
	}
	return f.st.clone(), nil
}

func (bd *build) resolveImage(ctx context.Context, ref string, src ImageSource, p v1.Platform) (*stageState, error) {
	prefix := "internal"
	if bd.sh.multi {
		prefix = images.PlatformString(p) + " internal"
	}
	step := bd.o.Progress.Start("[" + prefix + "] load metadata for " + imageName(ref, nil))
	img, err := src.Resolve(ctx, ref, p)
	if err != nil {
		step.Done(false, err)
		return nil, fmt.Errorf("resolving image %s: %w", ref, err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		step.Done(false, err)
		return nil, fmt.Errorf("reading config of %s: %w", ref, err)
	}
	st := &stageState{from: &fromVertex{name: "FROM " + imageName(ref, nil)}}
	if d, err := img.Digest(); err == nil {
		st.key = "image " + d.String()
		st.from.name = "FROM " + imageName(ref, &d)
	}
	if err := json.Unmarshal(raw, &st.img); err != nil {
		step.Done(false, err)
		return nil, fmt.Errorf("decoding config of %s: %w", ref, err)
	}
	st.baseHist = len(st.img.History)
	layers, err := img.Layers()
	if err != nil {
		step.Done(false, err)
		return nil, fmt.Errorf("listing layers of %s: %w", ref, err)
	}
	st.layers = layers
	st.diffIDs = make([]v1.Hash, len(layers))
	for i, l := range layers {
		if st.diffIDs[i], err = l.DiffID(); err != nil {
			step.Done(false, err)
			return nil, fmt.Errorf("layer %d of %s: %w", i, ref, err)
		}
	}
	if len(st.img.RootFS.DiffIDs) != len(layers) {
		err := fmt.Errorf("image %s: config lists %d layers, manifest %d", ref, len(st.img.RootFS.DiffIDs), len(layers))
		step.Done(false, err)
		return nil, err
	}
	step.Done(false, nil)
	// Unpacked when a step first needs the filesystem (ensureSnapshots);
	// the FROM step shows CACHED when every layer is already unpacked.
	st.from.show = len(layers) > 0
	for _, d := range st.diffIDs {
		if !bd.b.Snapshots.Has(d) {
			st.from.unpacked = true
			break
		}
	}
	return st, nil
}

func shortDigest(h v1.Hash) string {
	if len(h.Hex) > 12 {
		return h.Hex[:12]
	}
	return h.Hex
}

// expander expands the words of an instruction (ARG has its own rule)
// with the stage env; an over-long result fails (see checkExpanded).
func (sc *stageCtx) expander() instructions.SingleWordExpander {
	env := shell.EnvsFromSlice(sc.st.env)
	return func(word string) (string, error) {
		v, _, err := sc.bd.newLex().ProcessWord(word, env)
		if err == nil {
			err = checkExpanded(v)
		}
		return v, err
	}
}

// commit appends a history entry like BuildKit's.
func (sc *stageCtx) commit(msg string, withLayer bool, run bool) {
	if run {
		msg += " # buildkit"
	}
	// As in BuildKit, a layer entry carries its layer's creation time (the
	// original one for a cache hit, so cached rebuilds are identical);
	// metadata entries get theirs when the image is assembled.
	var created *time.Time
	if withLayer && !sc.st.lastCreated.IsZero() {
		t := sc.st.lastCreated
		created = &t
	}
	sc.st.img.History = append(sc.st.img.History, ocispec.History{
		Created:    created,
		CreatedBy:  msg,
		Comment:    historyComment,
		EmptyLayer: !withLayer,
	})
}

// fromStep numbers the stage's FROM and shows it when the stage is the
// first to use its image: BuildKit merges identical image sources into
// one vertex.
func (sc *stageCtx) fromStep() {
	f := sc.st.from
	if f == nil || !f.show {
		return
	}
	name := sc.prefixed(f.name)
	if owner, ok := sc.bd.fromOwner[sc.n.fromKey()]; ok && owner != sc.n.index {
		return
	}
	step := sc.bd.o.Progress.Start(name)
	if f.unpacked {
		step.Done(false, nil)
	} else {
		step.Cached()
	}
}

// fromKey identifies the image a stage starts from.
func (n *stageNode) fromKey() string { return n.baseName + "|" + n.stage.Platform }
