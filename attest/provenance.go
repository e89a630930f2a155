package attest

import (
	"encoding/base64"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Provenance modes and SLSA versions, as buildx's --provenance takes them.
const (
	ModeMin   = "min"
	ModeMax   = "max"
	SLSA1     = "v1"
	SLSA02    = "v0.2"
	buildType = "https://github.com/lade-build/lade/blob/main/README.md#provenance"
	frontend  = "dockerfile.v0"
)

// Build is what a provenance statement says about one platform's build.
type Build struct {
	Mode, Version  string // ModeMin/ModeMax, SLSA1/SLSA02
	Platform       v1.Platform
	Builder        v1.Platform // the host's
	DockerfileName string      // as the context names it ("Dockerfile")
	Dockerfile     []byte      // max mode only
	Target         string
	BuildArgs      map[string]string // max mode only; values, never secrets
	Labels         map[string]string
	Secrets, SSH   []string // ids only, max mode only
	Bases          []Base
	Context        Context
	InvocationID   string
	Started        time.Time
	Finished       time.Time
	Network        bool // a RUN step had network access: not hermetic
}

// Base is a base image the build resolved: its reference as written and
// the digest of the manifest it used.
type Base struct {
	Ref      string
	Platform v1.Platform
	Digest   v1.Hash
}

// Context is the local build context: a digest of what the build could
// read from it, and its git checkout if it is one.
type Context struct {
	Digest string // "sha256:..."
	Git    *Git
}

// Git is the checkout the context is in.
type Git struct {
	Remote string // credentials removed
	Commit string
	Dirty  bool
}

type digestSet map[string]string

type resourceDescriptor struct {
	URI    string    `json:"uri,omitempty"`
	Digest digestSet `json:"digest,omitempty"`
}

type configSource struct {
	URI    string    `json:"uri,omitempty"`
	Digest digestSet `json:"digest,omitempty"`
	Path   string    `json:"path,omitempty"`
}

type request struct {
	Frontend string            `json:"frontend,omitempty"`
	Args     map[string]string `json:"args,omitempty"`
	Secrets  []idRef           `json:"secrets,omitempty"`
	SSH      []idRef           `json:"ssh,omitempty"`
	Locals   []idName          `json:"locals,omitempty"`
}

type idRef struct {
	ID string `json:"id"`
}

type idName struct {
	Name string `json:"name"`
}

type completeness struct {
	Request              bool `json:"request"`
	ResolvedDependencies bool `json:"resolvedDependencies"`
}

// ladeMetadata holds what SLSA has no field for, as BuildKit's
// buildkit_metadata does: the VCS, the context digest and the Dockerfile.
type ladeMetadata struct {
	VCS     map[string]string `json:"vcs,omitempty"`
	Context string            `json:"context,omitempty"`
	Source  *sourceInfos      `json:"source,omitempty"`
}

type sourceInfos struct {
	Infos []sourceInfo `json:"infos"`
}

type sourceInfo struct {
	Filename string `json:"filename"`
	Language string `json:"language"`
	Data     string `json:"data,omitempty"` // base64, as BuildKit's []byte
}

// Provenance is the SLSA provenance statement (b.Version) about the
// image manifest digest.
func Provenance(b Build, subjects []Subject) (Statement, error) {
	deps := b.dependencies()
	meta := b.metadata()
	req := b.request()
	src := configSource{Path: b.DockerfileName}
	if g := b.Context.Git; g != nil && g.Remote != "" {
		src.URI, src.Digest = g.Remote, digestSet{"sha1": g.Commit}
	}
	st := Statement{Type: StatementType, Subject: subjects}
	switch b.Version {
	case SLSA1, "":
		st.PredicateType = PredicateSLSA1
		st.Predicate = slsa1(b, deps, src, req, meta)
	case SLSA02:
		st.PredicateType = PredicateSLSA02
		st.Predicate = slsa02(b, deps, src, req, meta)
	default:
		return st, fmt.Errorf("provenance version %q: use %s or %s", b.Version, SLSA1, SLSA02)
	}
	return st, nil
}

func slsa1(b Build, deps []resourceDescriptor, src configSource, req request, meta ladeMetadata) map[string]any {
	internal := map[string]any{"builderPlatform": platformString(b.Builder), "targetPlatform": platformString(b.Platform)}
	return map[string]any{
		"buildDefinition": map[string]any{
			"buildType":            buildType,
			"externalParameters":   map[string]any{"configSource": src, "request": req},
			"internalParameters":   internal,
			"resolvedDependencies": deps,
		},
		"runDetails": map[string]any{
			"builder": map[string]string{"id": ""},
			"metadata": map[string]any{
				"invocationID":          b.InvocationID,
				"startedOn":             b.Started.UTC().Format(time.RFC3339Nano),
				"finishedOn":            b.Finished.UTC().Format(time.RFC3339Nano),
				"buildkit_completeness": b.completeness(),
				"buildkit_reproducible": false,
				"buildkit_hermetic":     !b.Network && b.completeness().ResolvedDependencies,
				"buildkit_metadata":     meta,
			},
		},
	}
}

func slsa02(b Build, deps []resourceDescriptor, src configSource, req request, meta ladeMetadata) map[string]any {
	return map[string]any{
		"builder":   map[string]string{"id": ""},
		"buildType": buildType,
		"materials": deps,
		"invocation": map[string]any{
			"configSource": map[string]any{"uri": src.URI, "digest": src.Digest, "entryPoint": src.Path},
			"parameters":   req,
			"environment":  map[string]string{"platform": platformString(b.Builder)},
		},
		"metadata": map[string]any{
			"buildInvocationID": b.InvocationID,
			"buildStartedOn":    b.Started.UTC().Format(time.RFC3339Nano),
			"buildFinishedOn":   b.Finished.UTC().Format(time.RFC3339Nano),
			"completeness":      map[string]bool{"parameters": b.completeness().Request, "environment": true, "materials": b.completeness().ResolvedDependencies},
			"reproducible":      false,
			"https://mobyproject.org/buildkit@v1#metadata": meta,
		},
	}
}

// completeness: the request is complete in max mode only (min leaves the
// args out); the dependencies never are while the context is local and
// not pinned by a clean git commit.
func (b Build) completeness() completeness {
	g := b.Context.Git
	return completeness{
		Request:              b.Mode == ModeMax,
		ResolvedDependencies: g != nil && !g.Dirty && g.Remote != "",
	}
}

// dependencies are the base images as docker purls with the manifest
// digests used, each once, in a fixed order.
func (b Build) dependencies() []resourceDescriptor {
	seen := map[string]bool{}
	var out []resourceDescriptor
	for _, base := range b.Bases {
		p := base.Platform
		u, err := imagePURL(base.Ref, &p)
		if err != nil {
			u = base.Ref
		}
		key := u + "@" + base.Digest.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, resourceDescriptor{URI: u, Digest: digestSet{base.Digest.Algorithm: base.Digest.Hex}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URI < out[j].URI })
	return out
}

// request is the build request: in max mode with the build args (their
// values: secrets never are args), the target, labels and the ids of the
// secrets and SSH agents; in min mode only the frontend and locals.
func (b Build) request() request {
	r := request{Frontend: frontend, Locals: []idName{{"context"}, {"dockerfile"}}}
	if b.Mode != ModeMax {
		return r
	}
	r.Args = map[string]string{}
	for k, v := range b.BuildArgs {
		r.Args["build-arg:"+k] = v
	}
	for k, v := range b.Labels {
		r.Args["label:"+k] = v
	}
	if b.Target != "" {
		r.Args["target"] = b.Target
	}
	for _, id := range sortedCopy(b.Secrets) {
		r.Secrets = append(r.Secrets, idRef{id})
	}
	for _, id := range sortedCopy(b.SSH) {
		r.SSH = append(r.SSH, idRef{id})
	}
	return r
}

// metadata: the git checkout in both modes (as buildx's vcs:source and
// vcs:revision), the context digest and the Dockerfile in max mode.
func (b Build) metadata() ladeMetadata {
	var m ladeMetadata
	if g := b.Context.Git; g != nil {
		m.VCS = map[string]string{"revision": g.Commit}
		if g.Remote != "" {
			m.VCS["source"] = g.Remote
		}
		if g.Dirty {
			m.VCS["revision"] += "-dirty"
		}
	}
	if b.Mode != ModeMax {
		return m
	}
	m.Context = b.Context.Digest
	if b.Dockerfile != nil {
		m.Source = &sourceInfos{Infos: []sourceInfo{{
			Filename: b.DockerfileName, Language: "Dockerfile",
			Data: base64.StdEncoding.EncodeToString(b.Dockerfile),
		}}}
	}
	return m
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// ParseProvenance reads a --provenance value (buildx's): true/false, or
// mode=min|max,version=v1|v0.2 (a bare min or max is a mode). ok is false
// for false.
func ParseProvenance(s string) (mode, version string, ok bool, err error) {
	mode, version = ModeMin, SLSA1
	switch strings.ToLower(s) {
	case "", "true", "1":
		return mode, version, true, nil
	case "false", "0":
		return "", "", false, nil
	case ModeMin, ModeMax:
		return strings.ToLower(s), version, true, nil
	}
	kv := map[string]string{}
	for _, f := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(f, "=")
		kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if v, has := kv["disabled"]; has && v != "false" {
		return "", "", false, nil
	}
	delete(kv, "disabled")
	delete(kv, "type")
	if v, has := kv["mode"]; has {
		if v != ModeMin && v != ModeMax {
			return "", "", false, fmt.Errorf("provenance mode %q: use min or max", v)
		}
		mode = v
	}
	if v, has := kv["version"]; has {
		if v != SLSA1 && v != SLSA02 {
			return "", "", false, fmt.Errorf("provenance version %q: use v1 or v0.2", v)
		}
		version = v
	}
	for k := range maps.Keys(kv) {
		if k != "mode" && k != "version" {
			return "", "", false, fmt.Errorf("provenance: unknown key %q", k)
		}
	}
	return mode, version, true, nil
}
