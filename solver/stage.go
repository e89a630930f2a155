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
	"github.com/lade-build/lade/cache"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	dfparser "github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
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
	records     []CacheRecord
	img         dockerspec.DockerOCIImage
	layers      []v1.Layer
	diffIDs     []v1.Hash
	env         []string
	args        []instructions.KeyValuePairOptional
	cmdSet      bool
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
	c.records = append([]CacheRecord(nil), s.records...)
	return &c
}

// stageCtx carries what one stage's instructions need.
type stageCtx struct {
	bd    *build
	n     *stageNode
	st    *stageState
	name  string // for progress: stage name or stage-N
	step  int
	total int
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
	cmds := n.stage.Commands
	// ONBUILD triggers of the base run first, then are dropped (BuildKit).
	triggers, err := parseTriggers(st.img.Config.OnBuild)
	if err != nil {
		return nil, bd.df.At(n.stage.Location, fmt.Errorf("parsing ONBUILD trigger: %w", err))
	}
	st.img.Config.OnBuild = nil
	all := append(triggers, cmds...)
	sc.total = len(all) + 1
	for i, c := range all {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sc.step = i + 2
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

// baseState resolves FROM: an earlier stage, scratch, or an image.
func (bd *build) baseState(ctx context.Context, n *stageNode) (*stageState, error) {
	var st *stageState
	if dep := bd.lookupStage(n.baseName, n.index); dep != nil && dep.stage.Name != "" && strings.EqualFold(dep.stage.Name, n.baseName) {
		parent, err := bd.stageResult(ctx, dep)
		if err != nil {
			return nil, err
		}
		st = parent.clone()
		st.args = nil
		st.cmdSet = false
		// The build-time env restarts from the image env: ARGs are per stage.
		st.env = append([]string(nil), st.img.Config.Env...)
	} else if strings.EqualFold(n.baseName, "scratch") {
		st = &stageState{}
		st.img.OS, st.img.Architecture = bd.o.Platform.OS, bd.o.Platform.Architecture
		st.img.Variant = bd.o.Platform.Variant
		st.img.RootFS.Type = "layers"
		st.img.Config.WorkingDir = "/" // as BuildKit's empty image
		st.key = "scratch " + bd.o.Platform.String()
	} else {
		p := bd.o.Platform
		if n.stage.Platform != "" {
			v, _, err := bd.newLex().ProcessWord(n.stage.Platform, shell.EnvsFromSlice(bd.globalArgs))
			if err != nil {
				return nil, err
			}
			pp, err := v1.ParsePlatform(v)
			if err != nil {
				return nil, fmt.Errorf("parsing platform %q: %w", v, err)
			}
			p = *pp
		}
		var err error
		if st, err = bd.imageState(ctx, n.baseName, p); err != nil {
			return nil, err
		}
	}
	if _, ok := getEnv(st.img.Config.Env, "PATH"); !ok {
		st.img.Config.Env = append(st.img.Config.Env, "PATH="+defaultPath)
	}
	st.env = append([]string(nil), st.img.Config.Env...)
	return st, nil
}

// imageFuture resolves one image once per build, however many stages
// and COPY --from name it.
type imageFuture struct {
	once sync.Once
	st   *stageState
	err  error
}

// imageState pulls (or finds) an image; its layers are unpacked only when
// a step needs them. The result is shared: callers get a clone.
func (bd *build) imageState(ctx context.Context, ref string, p v1.Platform) (*stageState, error) {
	key := ref + "|" + p.String()
	bd.mu.Lock()
	if bd.imgs == nil {
		bd.imgs = map[string]*imageFuture{}
	}
	f := bd.imgs[key]
	if f == nil {
		f = &imageFuture{}
		bd.imgs[key] = f
	}
	bd.mu.Unlock()
	f.once.Do(func() { f.st, f.err = bd.resolveImage(ctx, ref, p) })
	if f.err != nil {
		return nil, f.err
	}
	return f.st.clone(), nil
}

func (bd *build) resolveImage(ctx context.Context, ref string, p v1.Platform) (*stageState, error) {
	step := bd.o.Progress.Start(fmt.Sprintf("[internal] load metadata for %s", ref))
	img, err := bd.b.Images.Resolve(ctx, ref, p)
	if err != nil {
		step.Done(false, err)
		return nil, fmt.Errorf("resolving image %s: %w", ref, err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		step.Done(false, err)
		return nil, fmt.Errorf("reading config of %s: %w", ref, err)
	}
	st := &stageState{}
	if d, err := img.Digest(); err == nil {
		st.key = "image " + d.String()
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
	// Unpacked when a step first needs the filesystem (ensureSnapshots).
	return st, nil
}

func shortDigest(h v1.Hash) string {
	if len(h.Hex) > 12 {
		return h.Hex[:12]
	}
	return h.Hex
}

// expandEnv is the env used for variable expansion and RUN: the stage env.
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

func (sc *stageCtx) progressName(c instructions.Command) string {
	text := c.Name()
	if s, ok := c.(fmt.Stringer); ok {
		text = s.String()
	}
	return fmt.Sprintf("[%s %d/%d] %s", sc.name, sc.step, sc.total, text)
}
