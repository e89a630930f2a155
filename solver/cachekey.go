package solver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/progress"
)

// inputs names everything a layer step's result depends on. The step's
// cache key is the digest of its parent's key and these inputs; the same
// names let --explain-cache say which input changed. Secret values never
// enter: mounts are described by their spec, not their content.
type inputs map[string]string

// keyOrder puts the explanations people want first.
func keyOrder(k string) int {
	switch {
	case k == "parent":
		return 0
	case k == "instruction":
		return 1
	case strings.HasPrefix(k, "build arg "):
		return 2
	case strings.HasPrefix(k, "source "):
		return 3
	}
	return 4
}

func (in inputs) sortedKeys() []string {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		oi, oj := keyOrder(keys[i]), keyOrder(keys[j])
		if oi != oj {
			return oi < oj
		}
		return keys[i] < keys[j]
	})
	return keys
}

func (in inputs) digest() string {
	h := sha256.New()
	for _, k := range in.sortedKeys() {
		fmt.Fprintf(h, "%q=%q\n", k, in[k])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// slotKey names a step's position (Dockerfile, stage, step), so a miss can
// be compared with what was cached there last time.
func (sc *stageCtx) slotKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "slot\n%s\n%s\n%d\n", sc.bd.o.ContextDir, sc.name, sc.step)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func (sc *stageCtx) cacheDisabled() bool {
	o := sc.bd.o
	if o.NoCache || sc.bd.b.Index == nil {
		return true
	}
	for _, s := range o.NoCacheFilter {
		if strings.EqualFold(s, sc.n.stage.Name) || s == fmt.Sprint(sc.n.index) {
			return true
		}
	}
	return false
}

// layerStep runs fn as fsStep does unless the cache holds the result for
// these inputs, in which case the stored layer is reused and nothing runs.
func (sc *stageCtx) layerStep(ctx context.Context, step *progress.Step, in inputs, fn func(rootfs string) error) (bool, error) {
	b := sc.bd.b
	in["parent"] = sc.st.key
	key := in.digest()
	if !sc.cacheDisabled() {
		// Another platform's build at this same step runs it once: this
		// one waits, then finds its result in the cache.
		unlock, err := sc.bd.sh.steps.lock(ctx, key)
		if err != nil {
			return false, err
		}
		defer unlock()
		if r, ok := b.Index.Get(key); ok && sc.reuse(r) {
			step.Cached()
			sc.st.key = key
			sc.st.lastCreated = r.Created
			sc.record(key, r)
			return true, nil
		}
		if sc.bd.o.ExplainCache {
			sc.bd.o.Progress.Printf("#%d cache miss: %s\n", step.ID(), sc.explain(in))
		}
	}
	added, err := sc.fsStep(ctx, step, fn)
	step.Done(true, err)
	if err != nil {
		return false, err
	}
	sc.st.key = key
	sc.st.lastCreated = time.Now().UTC().Truncate(time.Second)
	if b.Index != nil && len(sc.st.layers) > 0 {
		info := sc.st.lastInfo
		rec := cache.Result{Layer: info, Created: sc.st.lastCreated, Inputs: in}
		if err := b.Index.Put(key, rec); err == nil {
			_ = b.Index.Put(sc.slotKey(), rec)
		}
		sc.record(key, rec)
	}
	return added, nil
}

// reuse appends a cached layer whose blob is here or in a --cache-from
// source. Nothing is fetched or unpacked yet (see lazy.go).
func (sc *stageCtx) reuse(r cache.Result) bool {
	if !sc.bd.b.available(r.Layer) {
		return false
	}
	sc.appendLayer(r.Layer)
	return true
}

// explain names the first input that differs from what this step position
// cached last time.
func (sc *stageCtx) explain(in inputs) string {
	prev, ok := sc.bd.b.Index.Get(sc.slotKey())
	if !ok || prev.Inputs == nil {
		return "no earlier build of this step"
	}
	for _, k := range in.sortedKeys() {
		if prev.Inputs[k] == in[k] {
			continue
		}
		switch {
		case k == "parent":
			return fmt.Sprintf("parent step %d missed", sc.vertex-1)
		case strings.HasPrefix(k, "source "), strings.HasPrefix(k, "build arg "):
			return strings.TrimPrefix(k, "source ") + " changed"
		case k == "env":
			return sc.explainEnv(prev.Inputs[k], in[k])
		default:
			return k + " changed"
		}
	}
	for k := range prev.Inputs {
		if _, ok := in[k]; !ok {
			return k + " removed"
		}
	}
	return "cached result is gone from the store"
}

// explainEnv names the first variable whose value differs between two
// build-time envs: "build arg V changed" for the stage's ARGs, else "env V
// changed".
func (sc *stageCtx) explainEnv(prev, cur string) string {
	parse := func(s string) (map[string]string, []string) {
		m, order := map[string]string{}, []string(nil)
		for _, kv := range strings.Split(s, "\x00") {
			if kv == "" {
				continue
			}
			k, v, _ := strings.Cut(kv, "=")
			if _, ok := m[k]; !ok {
				order = append(order, k)
			}
			m[k] = v
		}
		return m, order
	}
	pm, porder := parse(prev)
	cm, corder := parse(cur)
	name := ""
	for _, k := range append(corder, porder...) {
		pv, pok := pm[k]
		cv, cok := cm[k]
		if pok != cok || pv != cv {
			name = k
			break
		}
	}
	if name == "" {
		return "env order changed"
	}
	for _, a := range sc.st.args {
		if a.Key == name {
			return "build arg " + name + " changed"
		}
	}
	return "env " + name + " changed"
}

// runInputs describes a RUN step for its cache key.
func (sc *stageCtx) runInputs(ctx context.Context, args []string, script string, network string, security string, plan []plannedMount) inputs {
	cfg := sc.st.img.Config
	in := inputs{
		"instruction": strings.Join(args, "\x00"),
		"env":         strings.Join(sc.st.env, "\x00"),
		"user":        cfg.User,
		"workdir":     cfg.WorkingDir,
		"network":     network,
		"security":    security,
	}
	if script != "" {
		in["script"] = script
	}
	for k, v := range sc.bd.o.BuildArgs {
		if proxyArgs[k] {
			in["proxy "+k] = v
		}
	}
	for i, pm := range plan {
		m := pm.m
		desc := fmt.Sprintf("%s target=%s id=%s from=%s source=%s ro=%v skip=%v sharing=%s required=%v size=%d env=%s mode=%s uid=%s gid=%s",
			m.Type, pm.target, pm.id, m.From, m.Source, m.ReadOnly, pm.skip, m.CacheSharing, m.Required, m.SizeLimit,
			optStr(m.Env), optNum(m.Mode), optNum(m.UID), optNum(m.GID))
		in[fmt.Sprintf("mount %d", i)] = desc
		if m.Type != "bind" {
			continue
		}
		// A bind's content is an input like a COPY source.
		if m.From != "" {
			if _, desc, err := sc.fromSource(ctx, m.From); err == nil {
				in[fmt.Sprintf("mount %d from", i)] = desc
			}
			continue
		}
		src := m.Source
		if src == "" {
			src = "/"
		}
		d, err := sc.bd.contextChecksum(ctx, src)
		if err != nil {
			d = "error: " + err.Error()
		}
		in[fmt.Sprintf("source mount %d %s", i, src)] = d
	}
	sc.addBuildInputs(in)
	return in
}

// chainID names a stack of layers by content. Steps that read another
// stage key on it, not on that stage's cache key, so a stage rebuilt with
// other output (--no-cache-filter, a non-deterministic step) is a miss.
func chainID(diffIDs []v1.Hash) string {
	h := sha256.New()
	for _, d := range diffIDs {
		fmt.Fprintln(h, d.String())
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// record notes a step for cache export: the stage keeps the records of its
// own chain (mode=min), the build keeps all of them (mode=max).
func (sc *stageCtx) record(key string, r cache.Result) {
	cr := cache.Record{Key: key, Result: r}
	sc.st.records = append(sc.st.records, cr)
	sc.bd.mu.Lock()
	sc.bd.records = append(sc.bd.records, cr)
	sc.bd.mu.Unlock()
}

func optStr(p *string) string {
	if p == nil {
		return "-"
	}
	return *p
}

func optNum(p *uint64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%o", *p)
}
