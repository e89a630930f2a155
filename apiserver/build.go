package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/lade-build/lade/buildctx"
	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/localbuild"
	"github.com/lade-build/lade/network"
	"github.com/lade-build/lade/parser"
	"github.com/lade-build/lade/progress"
	"github.com/lade-build/lade/solver"
)

// buildParams are the classic builder's query parameters lade reads.
type buildParams struct {
	tags        []string
	dockerfile  string
	o           solver.Options
	platform    v1.Platform
	pull, quiet bool
}

// readBuildParams reads t, dockerfile, buildargs, labels, target,
// nocache, pull, networkmode, platform, extrahosts, shmsize, ulimits and q.
func readBuildParams(r *http.Request) (buildParams, error) {
	q := r.URL.Query()
	p := buildParams{tags: q["t"], dockerfile: q.Get("dockerfile"), pull: boolQuery(r, "pull"), quiet: boolQuery(r, "q")}
	p.o = solver.Options{Target: q.Get("target"), NoCache: boolQuery(r, "nocache"), Network: q.Get("networkmode"),
		Compression: cache.Compression("gzip")}
	if p.o.Network == "" {
		p.o.Network = "default"
	}
	var args map[string]*string
	if err := jsonQuery(q.Get("buildargs"), &args); err != nil {
		return p, err
	}
	p.o.BuildArgs = map[string]string{}
	for k, v := range args {
		if v != nil { // a name without a value: the client had none in its env
			p.o.BuildArgs[k] = *v
		}
	}
	if err := jsonQuery(q.Get("labels"), &p.o.Labels); err != nil {
		return p, err
	}
	if err := readSandbox(q, &p.o.Sandbox); err != nil {
		return p, err
	}
	p.platform = solver.HostPlatform()
	if v := q.Get("platform"); v != "" {
		plat, err := images.ParsePlatform(v)
		if err != nil {
			return p, badParameter(err)
		}
		p.platform = plat
	}
	return p, nil
}

// readSandbox reads the RUN sandbox's parameters: extrahosts (NAME:IP,
// comma-separated), shmsize (bytes) and ulimits (JSON).
func readSandbox(q url.Values, s *solver.Sandbox) error {
	for _, v := range q["extrahosts"] {
		for _, h := range strings.Split(v, ",") {
			if h == "" {
				continue
			}
			e, err := network.ParseExtraHost(h)
			if err != nil {
				return badParameter(err)
			}
			s.ExtraHosts = append(s.ExtraHosts, e)
		}
	}
	if v := q.Get("shmsize"); v != "" && v != "0" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errorf(http.StatusBadRequest, "invalid shmsize %q", v)
		}
		s.ShmSize = n
	}
	return jsonQuery(q.Get("ulimits"), &s.Ulimits)
}

func jsonQuery(v string, into any) error {
	if v == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(v), into); err != nil {
		return errorf(http.StatusBadRequest, "invalid JSON parameter: %v", err)
	}
	return nil
}

// build is docker's classic build endpoint over lade's solver, wired as
// `lade build` wires it (localbuild): the body is the context's tar (or
// a Dockerfile), the steps' output streams as {"stream": ...} messages,
// and {"aux": {"ID": ...}} names the image, stored under each t.
func (s *Server) build(w http.ResponseWriter, r *http.Request) error {
	if s.o.Content == nil {
		return errorf(http.StatusNotImplemented, "this server has no content store to build with")
	}
	p, err := readBuildParams(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	release, err := s.o.Content.HoldGC(ctx) // prune waits for what the build makes
	if err != nil {
		return err
	}
	defer release()
	src, err := buildctx.Open(ctx, "-", r.Body, filepath.Join(s.o.Root, "tmp"))
	if err != nil {
		return badParameter(err)
	}
	defer src.Close()
	if p.o.Dockerfile, p.o.DockerfilePath, err = readContextDockerfile(src, p.dockerfile); err != nil {
		return badParameter(err)
	}
	p.o.ContextDir, p.o.Platform = src.Dir, p.platform
	st := newStream(w)
	mode := progress.ModePlain
	if p.quiet {
		mode = progress.ModeQuiet
	}
	prog, err := progress.New(streamWriter{st}, mode)
	if err != nil {
		return err
	}
	p.o.Progress = prog
	id, err := s.runBuild(ctx, p)
	prog.Close()
	if err != nil {
		return st.fail(err)
	}
	aux := json.RawMessage(fmt.Sprintf(`{"ID":%q}`, id))
	st.send(message{Message: jsonstream.Message{Aux: &aux}})
	if !p.quiet {
		st.stream("Successfully built " + id.Hex[:12] + "\n")
		for _, t := range p.tags {
			st.stream("Successfully tagged " + t + "\n")
		}
	}
	return nil
}

// runBuild builds p and stores the image under its tags.
func (s *Server) runBuild(ctx context.Context, p buildParams) (v1.Hash, error) {
	var src solver.ImageSource = baseImages{s, false}
	if p.pull {
		src = baseImages{s, true}
	}
	root := localbuild.Root{Dir: s.o.Root, Content: s.o.Content, Snapshots: s.o.Snapshots, Images: src}
	b, done, err := root.Builder(p.o.ContextDir, false)
	if err != nil {
		return v1.Hash{}, err
	}
	defer done()
	res, err := b.Build(ctx, p.o)
	if err != nil {
		return v1.Hash{}, err
	}
	if len(p.tags) == 0 {
		err = s.o.Images.Store(ctx, res.Image)
	}
	for _, t := range p.tags {
		if err = s.o.Images.Tag(ctx, t, res.Image); err != nil {
			break
		}
	}
	if err != nil {
		return v1.Hash{}, err
	}
	return res.Image.ConfigName()
}

// readContextDockerfile parses the Dockerfile: the body itself when it
// was one, else name (default Dockerfile) inside the context.
func readContextDockerfile(src *buildctx.Context, name string) (*parser.Dockerfile, string, error) {
	if src.Dockerfile != nil {
		df, err := parser.Parse(bytes.NewReader(src.Dockerfile), "Dockerfile")
		return df, "", err
	}
	if name == "" {
		name = "Dockerfile"
	}
	path, err := securejoin.SecureJoin(src.Dir, name)
	if err != nil {
		return nil, "", err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("failed to read dockerfile: %w", err)
	}
	df, err := parser.Parse(bytes.NewReader(data), filepath.Base(path))
	return df, path, err
}

// baseImages resolves FROM images for an API build: the stored image,
// else (or always with pull) the registry's, as `lade build [--pull]`.
type baseImages struct {
	s      *Server
	always bool
}

func (b baseImages) Resolve(ctx context.Context, ref string, p v1.Platform) (v1.Image, error) {
	if !b.always {
		img, err := b.s.o.Images.GetPlatform(ctx, ref, p)
		if err == nil || !errors.Is(err, images.ErrNotFound) {
			return img, err
		}
	}
	verify, err := engine.SignatureCheck(b.s.o.Policy, ref, b.s.o.Images)
	if err != nil {
		return nil, err
	}
	return b.s.o.Images.Pull(ctx, ref, images.PullOptions{Platform: p, Insecure: b.s.o.Insecure, Verify: verify})
}

// streamWriter sends what the build's progress prints as stream messages.
type streamWriter struct{ st *stream }

func (w streamWriter) Write(p []byte) (int, error) {
	w.st.stream(string(p))
	return len(p), nil
}
