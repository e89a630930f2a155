package images

import (
	"fmt"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/lade-build/lade/parser"
)

// ApplyChanges applies Dockerfile instructions to cfg, as docker commit
// --change and import --change do: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
// ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR and HEALTHCHECK. Each change
// is one instruction, parsed by the Dockerfile parser builds use.
func ApplyChanges(cfg *v1.Config, changes []string) error {
	if len(changes) == 0 {
		return nil
	}
	df, err := parser.Parse(strings.NewReader("FROM scratch\n"+strings.Join(changes, "\n")), "--change")
	if err != nil {
		return err
	}
	for _, cmd := range df.Stages[0].Commands {
		if err := applyChange(cfg, cmd); err != nil {
			return err
		}
	}
	return nil
}

// shellForm is args of a shell-form CMD or ENTRYPOINT, run by the
// image's SHELL.
func shellForm(cfg *v1.Config, args []string, prepend bool) []string {
	if !prepend {
		return args
	}
	sh := cfg.Shell
	if len(sh) == 0 {
		sh = []string{"/bin/sh", "-c"}
	}
	return append(append([]string(nil), sh...), strings.Join(args, " "))
}

func applyChange(cfg *v1.Config, cmd instructions.Command) error {
	switch c := cmd.(type) {
	case *instructions.CmdCommand:
		cfg.Cmd = shellForm(cfg, c.CmdLine, c.PrependShell)
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = shellForm(cfg, c.CmdLine, c.PrependShell)
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			// Replaced where it is, as docker does, or added.
			i := slices.IndexFunc(cfg.Env, func(e string) bool { return strings.HasPrefix(e, kv.Key+"=") })
			if i < 0 {
				cfg.Env = append(cfg.Env, kv.Key+"="+kv.Value)
			} else {
				cfg.Env[i] = kv.Key + "=" + kv.Value
			}
		}
	case *instructions.ExposeCommand:
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range c.Ports {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			cfg.ExposedPorts[p] = struct{}{}
		}
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
		}
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
	case *instructions.StopSignalCommand:
		cfg.StopSignal = c.Signal
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			cfg.Volumes[v] = struct{}{}
		}
	case *instructions.WorkdirCommand:
		cfg.WorkingDir = c.Path
	case *instructions.HealthCheckCommand:
		h := c.Health
		cfg.Healthcheck = &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
			StartPeriod: h.StartPeriod, Retries: h.Retries}
	default:
		return fmt.Errorf("%s is not a valid change command", strings.ToUpper(cmd.Name()))
	}
	return nil
}
