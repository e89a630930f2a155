package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/pflag"

	"github.com/lade-build/lade/attest"
	"github.com/lade-build/lade/exporter"
	"github.com/lade-build/lade/progress"
	"github.com/lade-build/lade/solver"
)

// attestFlags are buildx's attestation flags.
type attestFlags struct {
	provenance, sbom string
	attest           []string
}

func addAttestFlags(fl *pflag.FlagSet, f *attestFlags) {
	fl.StringVar(&f.provenance, "provenance", "", "attach SLSA provenance: true|false or mode=min|max[,version=v1|v0.2]")
	fl.Lookup("provenance").NoOptDefVal = "true"
	fl.StringVar(&f.sbom, "sbom", "", "attach an SPDX SBOM of the image's packages: true|false")
	fl.Lookup("sbom").NoOptDefVal = "true"
	fl.StringArrayVar(&f.attest, "attest", nil, "attach an attestation: type=provenance[,mode=min|max][,version=v1|v0.2] or type=sbom")
}

// buildAttest is a build's attestation request and what it records while
// the build runs: the base images resolved and when it started.
type buildAttest struct {
	req     attest.Request
	rec     *attest.Recorder
	started time.Time
	names   []string
	opts    solver.Options
	sb      *solver.Builder
	stmts   [][]attest.Statement // per result, once index made them
}

// newBuildAttest reads the flags; nil when nothing is attested. Unlike
// buildx, which adds mode=min provenance to every push and OCI export
// unless BUILDX_NO_DEFAULT_ATTESTATIONS is set, lade attests only when
// asked: an image index in place of the one image would change what
// every push and -o type=oci gives (their digest, docker load of the
// tar), as it did for buildx's users in 2023.
func newBuildAttest(f *buildFlags, outs []output, plats int, prog *progress.Printer) (*buildAttest, error) {
	req, err := attest.Parse(f.attestFlags.provenance, f.attestFlags.sbom, f.attestFlags.attest)
	if err != nil || !req.Any() {
		return nil, err
	}
	if !keepsAttestations(outs, plats) {
		prog.Printf("WARNING: no output keeps attestations (one platform's image in the local store or a docker archive): use --push, -o type=oci, type=local or type=tar\n")
		return nil, nil
	}
	return &buildAttest{req: req, started: time.Now(), names: f.tags}, nil
}

// keepsAttestations: a push, an OCI archive, a stored index or files
// (local, tar: as files beside them) keep them; one image in the store
// or a docker archive does not.
func keepsAttestations(outs []output, plats int) bool {
	for _, o := range outs {
		if o.push || o.typ == "oci" || o.typ == "local" || o.typ == "tar" || (o.typ == "image" && plats > 1) {
			return true
		}
	}
	return false
}

// record makes b resolve base images through the recorder.
func (ba *buildAttest) record(b *solver.Builder, opts solver.Options) {
	ba.rec = &attest.Recorder{Source: b.Images}
	b.Images = ba.rec
	ba.opts, ba.sb = opts, b
}

// index is the build's image index with each platform's attestation
// manifest.
func (ba *buildAttest) index(ctx context.Context, results []*solver.Result, prog *progress.Printer) (v1.ImageIndex, error) {
	step := prog.Start("generating attestations")
	idx, err := ba.makeIndex(ctx, results)
	step.Done(true, err)
	return idx, err
}

func (ba *buildAttest) makeIndex(ctx context.Context, results []*solver.Result) (v1.ImageIndex, error) {
	b, err := ba.build(ctx)
	if err != nil {
		return nil, err
	}
	created := b.Finished
	if ba.opts.SourceDateEpoch != nil {
		created = *ba.opts.SourceDateEpoch
	}
	var imgs []attest.Attached
	for _, r := range results {
		pb := b
		pb.Platform, pb.Bases = r.Platform, ba.rec.Bases(r.Platform)
		st, err := ba.req.Statements(ctx, r.Image, pb, ba.names, created)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, attest.Attached{Image: r.Image, Platform: r.Platform, Statements: st})
		ba.stmts = append(ba.stmts, st)
	}
	return attest.Index(imgs)
}

// files are the attestations of each result as files for -o type=local
// and type=tar (after index made them): statements about the exported
// files, as BuildKit's.
func (ba *buildAttest) files(ctx context.Context, results []*solver.Result) ([][]exporter.ExtraFile, error) {
	out := make([][]exporter.ExtraFile, len(results))
	for i, r := range results {
		var err error
		if out[i], err = attest.Files(ctx, r.Image, ba.stmts[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// build is what the provenance says of every platform's build.
func (ba *buildAttest) build(ctx context.Context) (attest.Build, error) {
	o := ba.opts
	id := make([]byte, 12)
	rand.Read(id)
	b := attest.Build{
		Builder: solver.HostPlatform(), DockerfileName: "Dockerfile", Target: o.Target,
		BuildArgs: o.BuildArgs, Labels: o.Labels, InvocationID: hex.EncodeToString(id),
		Started: ba.started, Finished: time.Now(), Network: o.Network != "none",
	}
	if o.DockerfilePath != "" {
		if rel, err := filepath.Rel(o.ContextDir, o.DockerfilePath); err == nil && !strings.HasPrefix(rel, "..") {
			b.DockerfileName = filepath.ToSlash(rel)
		}
	}
	if o.Dockerfile != nil {
		b.Dockerfile = []byte(strings.TrimRight(strings.Join(o.Dockerfile.Lines, "\n"), "\n") + "\n")
	}
	b.Secrets, b.SSH = sortedKeys(o.Secrets), sortedKeys(o.SSH)
	if ba.req.Provenance && ba.req.Mode == attest.ModeMax {
		d, err := attest.ContextDigest(ctx, o.ContextDir, o.DockerfilePath, ba.sb.StatCache)
		if err != nil {
			return b, fmt.Errorf("digesting the build context: %w", err)
		}
		b.Context.Digest = d
	}
	b.Context.Git = attest.GitInfo(ctx, o.ContextDir)
	return b, nil
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
