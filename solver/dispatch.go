package solver

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/lade-build/lade/runner"
)

func (bd *build) createdTime() time.Time {
	if bd.o.SourceDateEpoch != nil {
		return bd.o.SourceDateEpoch.UTC()
	}
	return bd.created
}

// dispatch applies one instruction to the stage.
func (sc *stageCtx) dispatch(ctx context.Context, c instructions.Command) error {
	if err := sc.expand(c); err != nil {
		return err
	}
	switch c := c.(type) {
	case *instructions.ArgCommand:
		return sc.dispatchArg(c)
	case *instructions.ExposeCommand:
		return sc.dispatchExpose(c)
	case *instructions.WorkdirCommand:
		return sc.dispatchWorkdir(ctx, c)
	case *instructions.RunCommand:
		return sc.dispatchRun(ctx, c)
	case *instructions.CopyCommand:
		return sc.dispatchCopy(ctx, copySpec{
			cmd: c, src: c.SourcesAndDest, from: c.From, chown: c.Chown, chmod: c.Chmod,
			parents: c.Parents, exclude: c.ExcludePatterns, name: "COPY",
		})
	case *instructions.AddCommand:
		return sc.dispatchCopy(ctx, copySpec{
			cmd: c, src: c.SourcesAndDest, chown: c.Chown, chmod: c.Chmod,
			exclude: c.ExcludePatterns, checksum: c.Checksum, add: true, name: "ADD", unpack: c.Unpack,
		})
	case *instructions.CmdCommand:
		sc.dispatchCmd("CMD", c.CmdLine, c.PrependShell)
		return nil
	case *instructions.EntrypointCommand:
		sc.dispatchCmd("ENTRYPOINT", c.CmdLine, c.PrependShell)
		return nil
	}
	return sc.dispatchConfig(c)
}

// expand substitutes the stage's variables in an instruction's words;
// ARG expands its own values as it declares them.
func (sc *stageCtx) expand(c instructions.Command) error {
	if _, isArg := c.(*instructions.ArgCommand); !isArg {
		if ex, ok := c.(instructions.SupportsSingleWordExpansion); ok {
			if err := ex.Expand(sc.expander()); err != nil {
				return err
			}
		}
	}
	if ex, ok := c.(instructions.SupportsSingleWordExpansionRaw); ok {
		lex := shell.NewLex('\\')
		lex.SkipProcessQuotes = true
		env := shell.EnvsFromSlice(sc.st.env)
		if err := ex.ExpandRaw(func(w string) (string, error) {
			v, _, err := lex.ProcessWord(w, env)
			return v, err
		}); err != nil {
			return err
		}
	}
	return nil
}

// dispatchCmd applies CMD or ENTRYPOINT; an ENTRYPOINT clears a CMD the
// base image set, not one this stage set.
func (sc *stageCtx) dispatchCmd(name string, args []string, prependShell bool) {
	st := sc.st
	if prependShell {
		args = sc.withShell(args)
	}
	cfg := &st.img.Config
	if name == "CMD" {
		cfg.Cmd = args
		cfg.ArgsEscaped = true //nolint:staticcheck // docker compatibility, as BuildKit writes it
		st.cmdSet = true
	} else {
		cfg.Entrypoint = args
		if !st.cmdSet {
			cfg.Cmd = nil
		}
	}
	sc.commit(fmt.Sprintf("%s %q", name, args), false, false)
}

// dispatchConfig applies an instruction that only changes the image
// config.
func (sc *stageCtx) dispatchConfig(c instructions.Command) error {
	st := sc.st
	cfg := &st.img.Config
	switch c := c.(type) {
	case *instructions.EnvCommand:
		msg := "ENV"
		for _, kv := range c.Env {
			st.env = setEnv(st.env, kv.Key, kv.Value)
			cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
			msg += " " + kv.Key + "=" + kv.Value
		}
		sc.commit(msg, false, false)
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		msg := "LABEL"
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
			msg += " " + kv.Key + "=" + kv.Value
		}
		sc.commit(msg, false, false)
	case *instructions.MaintainerCommand:
		st.img.Author = c.Maintainer
		sc.commit("MAINTAINER "+c.Maintainer, false, false)
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			if v == "" {
				return fmt.Errorf("VOLUME specified can not be an empty string")
			}
			cfg.Volumes[v] = struct{}{}
		}
		sc.commit(fmt.Sprintf("VOLUME %v", c.Volumes), false, false)
	case *instructions.UserCommand:
		cfg.User = c.User
		sc.commit("USER "+c.User, false, false)
	case *instructions.StopSignalCommand:
		if err := checkSignal(c.Signal); err != nil {
			return err
		}
		cfg.StopSignal = c.Signal
		sc.commit("STOPSIGNAL "+c.Signal, false, false)
	case *instructions.ShellCommand:
		cfg.Shell = c.Shell
		sc.commit(fmt.Sprintf("SHELL %v", c.Shell), false, false)
	case *instructions.HealthCheckCommand:
		h := *c.Health
		cfg.Healthcheck = &dockerspec.HealthcheckConfig{
			Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
			StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries,
		}
		sc.commit(fmt.Sprintf("HEALTHCHECK %+v", *cfg.Healthcheck), false, false)
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
	default:
		return fmt.Errorf("unsupported instruction %s", c.Name())
	}
	return nil
}

func (sc *stageCtx) withShell(args []string) []string {
	sh := sc.st.img.Config.Shell
	if len(sh) == 0 {
		sh = []string{"/bin/sh", "-c"}
	}
	return append(append([]string(nil), sh...), strings.Join(args, " "))
}

func (sc *stageCtx) dispatchArg(c *instructions.ArgCommand) error {
	bd := sc.bd
	auto := bd.platformArgs()
	var parts []string
	for _, kv := range c.Args {
		arg := kv
		if v, ok := bd.o.BuildArgs[arg.Key]; ok {
			arg.Value = &v
			bd.markUsed(arg.Key)
		} else if arg.Value != nil {
			v, _, err := bd.newLex().ProcessWord(*arg.Value, shell.EnvsFromSlice(sc.st.env))
			if err == nil {
				err = checkExpanded(v)
			}
			if err != nil {
				return err
			}
			arg.Value = &v
		} else if v, ok := getEnv(bd.globalArgs, arg.Key); ok {
			arg.Value = &v
		} else if v, ok := auto[arg.Key]; ok {
			arg.Value = &v
		}
		if arg.Value != nil {
			sc.st.env = setEnv(sc.st.env, arg.Key, *arg.Value)
		}
		sc.st.args = append(sc.st.args, arg)
		s := arg.Key
		if arg.Value != nil {
			s += "=" + *arg.Value
		}
		parts = append(parts, s)
	}
	sc.commit("ARG "+strings.Join(parts, " "), false, false)
	return nil
}

func (sc *stageCtx) dispatchExpose(c *instructions.ExposeCommand) error {
	env := shell.EnvsFromSlice(sc.st.env)
	var ports []string
	for _, p := range c.Ports {
		words, err := sc.bd.newLex().ProcessWords(p, env)
		if err != nil {
			return err
		}
		for _, w := range words {
			ps, err := parsePortSpec(w)
			if err != nil {
				return err
			}
			ports = append(ports, ps...)
		}
	}
	cfg := &sc.st.img.Config
	if cfg.ExposedPorts == nil {
		cfg.ExposedPorts = map[string]struct{}{}
	}
	for _, p := range ports {
		cfg.ExposedPorts[p] = struct{}{}
	}
	sc.commit(fmt.Sprintf("EXPOSE %v", ports), false, false)
	return nil
}

// parsePortSpec accepts "80", "80/udp", "8000-8002/tcp" (and a leading
// "ip:hostport:" which is ignored, as docker does for EXPOSE).
func parsePortSpec(s string) ([]string, error) {
	proto := "tcp"
	if p, pr, ok := strings.Cut(s, "/"); ok {
		s, proto = p, strings.ToLower(pr)
	}
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("invalid proto: %s", proto)
	}
	if i := strings.LastIndex(s, ":"); i >= 0 {
		s = s[i+1:]
	}
	lo, hi, isRange := strings.Cut(s, "-")
	start, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("invalid containerPort: %s", s)
	}
	end := start
	if isRange {
		if end, err = strconv.ParseUint(hi, 10, 16); err != nil || end < start {
			return nil, fmt.Errorf("invalid range specified for containerPort: %s", s)
		}
	}
	var out []string
	for p := start; p <= end; p++ {
		out = append(out, fmt.Sprintf("%d/%s", p, proto))
	}
	return out, nil
}

func checkSignal(s string) error {
	_, err := runner.ParseSignal(s)
	return err
}

// workdirPath resolves p against the current WORKDIR like BuildKit.
func (sc *stageCtx) workdirPath(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	wd := sc.st.img.Config.WorkingDir
	if wd == "" {
		wd = "/"
	}
	return path.Join(wd, p)
}

func shellEnv(env []string) shell.EnvGetter { return shell.EnvsFromSlice(env) }
