package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/fileop"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/runner"
)

func init() {
	commands = append(commands, (*app).runCmd)
}

type runFlags struct {
	rm         bool
	env        []string
	entrypoint *string
	workdir    string
	user       string
	network    string
	hostname   string
}

// runCmd is the foreground subset of docker run: the container lives as
// long as the command, and its snapshot is always removed afterwards.
func (a *app) runCmd() *cobra.Command {
	f := &runFlags{}
	var entry string
	c := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Run a command in a new container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("entrypoint") {
				f.entrypoint = &entry
			}
			code, err := a.run(cmd.Context(), f, args[0], args[1:])
			if err != nil {
				fmt.Fprintln(a.stderr, "lade: "+err.Error())
				return exitError{125}
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.SetInterspersed(false)
	fl.BoolVar(&f.rm, "rm", false, "remove the container when it exits (always the case for now)")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "set an environment variable (KEY=VALUE, or KEY from the environment)")
	fl.StringVar(&entry, "entrypoint", "", "override the image's ENTRYPOINT")
	fl.StringVarP(&f.workdir, "workdir", "w", "", "working directory inside the container")
	fl.StringVarP(&f.user, "user", "u", "", "user[:group] to run as")
	fl.StringVar(&f.network, "network", "private", "network: private (own namespace with loopback), host or none")
	fl.StringVar(&f.hostname, "hostname", "", "container host name")
	return c
}

func (a *app) run(ctx context.Context, f *runFlags, ref string, cmdArgs []string) (int, error) {
	if err := a.open(); err != nil {
		return 0, err
	}
	img, err := a.images.Get(ctx, ref)
	if errors.Is(err, images.ErrNotFound) {
		img, err = a.images.Pull(ctx, ref, images.PullOptions{Insecure: a.insecure})
	}
	if err != nil {
		return 0, err
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return 0, err
	}
	var cfg dockerspec.DockerOCIImage
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return 0, fmt.Errorf("decoding image config: %w", err)
	}
	diffIDs, err := a.unpack(ctx, img)
	if err != nil {
		return 0, err
	}

	entrypoint, cmd := cfg.Config.Entrypoint, cfg.Config.Cmd
	if f.entrypoint != nil {
		entrypoint, cmd = nil, nil
		if *f.entrypoint != "" {
			entrypoint = []string{*f.entrypoint}
		}
	}
	if len(cmdArgs) > 0 {
		cmd = cmdArgs
	}
	argv := append(append([]string(nil), entrypoint...), cmd...)
	if len(argv) == 0 {
		return 0, errors.New("no command specified")
	}

	active, err := a.snapshots.Prepare(ctx, diffIDs)
	if err != nil {
		return 0, err
	}
	defer a.snapshots.Remove(active)
	if err := active.Mount(); err != nil {
		return 0, err
	}
	rootfs := active.Merged

	userSpec := cfg.Config.User
	if f.user != "" {
		userSpec = f.user
	}
	if userSpec == "" {
		userSpec = "0"
	}
	user, err := fileop.LookupUser(rootfs, userSpec)
	if err != nil {
		return 0, err
	}
	env := append([]string(nil), cfg.Config.Env...)
	extra, err := parseKV(f.env, true)
	if err != nil {
		return 0, fmt.Errorf("--env: %w", err)
	}
	for _, kv := range f.env {
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := extra[k]; ok {
			env = setEnvList(env, k, v)
		}
	}
	hostname := f.hostname
	if hostname == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		hostname = hex.EncodeToString(b)
	}
	if !hasKey(env, "HOSTNAME") {
		env = append(env, "HOSTNAME="+hostname)
	}
	if !hasKey(env, "HOME") {
		env = append(env, "HOME="+user.Home)
	}
	cwd := cfg.Config.WorkingDir
	if f.workdir != "" {
		cwd = f.workdir
	}
	if cwd == "" {
		cwd = "/"
	}
	if !filepath.IsAbs(cwd) {
		return 0, fmt.Errorf("the working directory %q is invalid: it needs to be an absolute path", cwd)
	}
	etc, err := writeEtc(filepath.Join(a.root, "tmp"), hostname)
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(etc)
	cwdPath, err := securejoin.SecureJoin(rootfs, cwd)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(cwdPath, 0o755); err != nil {
		return 0, fmt.Errorf("creating working directory: %w", err)
	}
	spec := &runner.Spec{
		Rootfs: rootfs, Args: argv, Env: env, Cwd: cwd,
		UID: user.UID, GID: user.GID, AdditionalGIDs: user.AdditionalGIDs,
		Hostname: hostname,
		Mounts: []runner.Mount{
			{Type: "bind", Source: filepath.Join(etc, "hosts"), Target: "/etc/hosts"},
			{Type: "bind", Source: filepath.Join(etc, "resolv.conf"), Target: "/etc/resolv.conf"},
			{Type: "bind", Source: filepath.Join(etc, "hostname"), Target: "/etc/hostname"},
		},
		Stdin: a.stdin, Stdout: a.stdout, Stderr: a.stderr,
	}
	switch f.network {
	case "host":
		spec.Network = runner.NetworkHost
	case "private", "none", "bridge", "default":
		spec.Network = runner.NetworkNone
	default:
		return 0, fmt.Errorf("network %q not supported: use private, host or none", f.network)
	}
	return a.runner().Run(ctx, spec)
}

// unpack makes sure every layer of img is a snapshot and returns the chain.
func (a *app) unpack(ctx context.Context, img v1.Image) ([]v1.Hash, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	var ids []v1.Hash
	for _, l := range layers {
		id, err := l.DiffID()
		if err != nil {
			return nil, err
		}
		if !a.snapshots.Has(id) {
			rc, err := l.Uncompressed()
			if err != nil {
				return nil, err
			}
			err = a.snapshots.Unpack(ctx, id, rc)
			rc.Close()
			if err != nil {
				return nil, fmt.Errorf("unpacking layer %s: %w", id, err)
			}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func writeEtc(tmp, hostname string) (string, error) {
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(tmp, "etc-")
	if err != nil {
		return "", err
	}
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	files := map[string]string{
		"hosts":       "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + hostname + "\n",
		"resolv.conf": string(resolv),
		"hostname":    hostname + "\n",
	}
	for n, d := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(d), 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func setEnvList(env []string, k, v string) []string {
	for i, kv := range env {
		if key, _, _ := strings.Cut(kv, "="); key == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

func hasKey(env []string, k string) bool {
	for _, kv := range env {
		if key, _, _ := strings.Cut(kv, "="); key == k {
			return true
		}
	}
	return false
}
