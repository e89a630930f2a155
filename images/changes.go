package images

import (
	"fmt"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// changeCommands are the Dockerfile instructions docker's import -c and
// commit -c accept.
var changeCommands = map[string]bool{
	"cmd": true, "entrypoint": true, "env": true, "expose": true, "healthcheck": true, "label": true,
	"onbuild": true, "stopsignal": true, "user": true, "volume": true, "workdir": true,
}

// ApplyChanges applies docker's --change lines (one Dockerfile
// instruction each, parsed by BuildKit's parser) to cfg, in order.
func ApplyChanges(cfg *v1.Config, changes []string) error {
	for _, line := range changes {
		if err := applyChange(cfg, line); err != nil {
			return fmt.Errorf("--change %q: %w", line, err)
		}
	}
	return nil
}

func applyChange(cfg *v1.Config, line string) error {
	res, err := parser.Parse(strings.NewReader(line))
	if err != nil {
		return err
	}
	if len(res.AST.Children) != 1 {
		return fmt.Errorf("want one instruction")
	}
	node := res.AST.Children[0]
	if !changeCommands[strings.ToLower(node.Value)] {
		return fmt.Errorf("%s is not a valid change command", strings.ToUpper(node.Value))
	}
	cmd, err := instructions.ParseCommand(node)
	if err != nil {
		return err
	}
	if err := expandChange(cmd, cfg.Env); err != nil {
		return err
	}
	switch c := cmd.(type) {
	case *instructions.CmdCommand:
		cfg.Cmd = shellForm(cfg, c.ShellDependantCmdLine)
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = shellForm(cfg, c.ShellDependantCmdLine)
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			cfg.Env = replaceEnv(cfg.Env, kv.Key, kv.Value)
		}
	case *instructions.LabelCommand:
		cfg.Labels = addAll(cfg.Labels, c.Labels)
	case *instructions.ExposeCommand:
		exposePorts(cfg, c.Ports)
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			cfg.Volumes[v] = struct{}{}
		}
	case *instructions.WorkdirCommand:
		cfg.WorkingDir = path.Join("/", cfg.WorkingDir, c.Path)
		if path.IsAbs(c.Path) {
			cfg.WorkingDir = path.Clean(c.Path)
		}
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.StopSignalCommand:
		cfg.StopSignal = c.Signal
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
	case *instructions.HealthCheckCommand:
		h := c.Health
		cfg.Healthcheck = &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
	return nil
}

// shellForm is a CMD or ENTRYPOINT's argv: the shell form runs under
// the image's shell (default /bin/sh -c).
func shellForm(cfg *v1.Config, l instructions.ShellDependantCmdLine) []string {
	if !l.PrependShell {
		return l.CmdLine
	}
	sh := cfg.Shell
	if len(sh) == 0 {
		sh = []string{"/bin/sh", "-c"}
	}
	return append(append([]string(nil), sh...), strings.Join(l.CmdLine, " "))
}

// replaceEnv sets k=v in env, in place of an earlier k.
func replaceEnv(env []string, k, v string) []string {
	for i, kv := range env {
		if key, _, _ := strings.Cut(kv, "="); key == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

func addAll(m map[string]string, kvs instructions.KeyValuePairs) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// exposePorts adds ports as docker keys them: "80" is "80/tcp".
func exposePorts(cfg *v1.Config, ports []string) {
	if cfg.ExposedPorts == nil {
		cfg.ExposedPorts = map[string]struct{}{}
	}
	for _, p := range ports {
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		cfg.ExposedPorts[strings.ToLower(p)] = struct{}{}
	}
}

// expandChange unquotes cmd's words and substitutes the image's variables
// in them, as a Dockerfile's instructions are.
func expandChange(cmd instructions.Command, env []string) error {
	ex, ok := cmd.(instructions.SupportsSingleWordExpansion)
	if !ok {
		return nil
	}
	lex, vars := shell.NewLex('\\'), shell.EnvsFromSlice(env)
	return ex.Expand(func(w string) (string, error) {
		v, _, err := lex.ProcessWord(w, vars)
		return v, err
	})
}
