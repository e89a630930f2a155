package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/fileop"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/runner"
)

func init() {
	commands = append(commands, (*app).runCmd)
}

type runFlags struct {
	rm, detach, interactive, tty, readOnly, privileged      bool
	init, publishAll, sigProxy                              bool
	env, envFile, volumes, mounts, tmpfs, publish           []string
	capAdd, capDrop, securityOpt, labels, groupAdd, devices []string
	entrypoint                                              *string
	workdir, user, network, hostname, name, restart         string
	memory, stopSignal                                      string
	cpus                                                    float64
	pidsLimit                                               int64
	stopTimeout                                             int
	healthCmd                                               string
	healthInterval, healthTimeout, healthStart              time.Duration
	healthRetries                                           int
	noHealthcheck                                           bool
}

// runCmd is docker run: create a container and run it in the foreground,
// or under a detached shim with -d.
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
				return statusError{125, err}
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.SetInterspersed(false)
	fl.BoolVar(&f.rm, "rm", false, "remove the container (and its anonymous volumes) when it exits")
	fl.BoolVarP(&f.detach, "detach", "d", false, "run in the background under a shim and print the container ID")
	fl.BoolVarP(&f.interactive, "interactive", "i", false, "keep stdin attached")
	fl.BoolVarP(&f.tty, "tty", "t", false, "allocate a pseudo-TTY as the command's stdin, stdout and stderr")
	fl.BoolVar(&f.sigProxy, "sig-proxy", true, "pass the signals lade receives on to the container's process (foreground)")
	fl.BoolVar(&f.init, "init", false, "run an init as pid 1 that forwards signals and reaps zombies")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "set an environment variable (KEY=VALUE, or KEY from the environment)")
	fl.StringArrayVar(&f.envFile, "env-file", nil, "read environment variables from a file")
	fl.StringVar(&entry, "entrypoint", "", "override the image's ENTRYPOINT")
	fl.StringVarP(&f.workdir, "workdir", "w", "", "working directory inside the container")
	fl.StringVarP(&f.user, "user", "u", "", "user[:group] to run as")
	fl.StringArrayVar(&f.groupAdd, "group-add", nil, "add a supplementary group (name from the image's /etc/group, or GID)")
	fl.StringVar(&f.network, "network", "private", "network: private (own namespace with loopback), host or none")
	fl.StringVar(&f.hostname, "hostname", "", "container host name")
	fl.StringVar(&f.name, "name", "", "container name")
	fl.BoolVar(&f.readOnly, "read-only", false, "mount the container's root filesystem read-only")
	fl.StringArrayVarP(&f.volumes, "volume", "v", nil, "bind mount or volume: HOST-PATH|NAME:CONTAINER-PATH[:ro], or CONTAINER-PATH for an anonymous volume")
	fl.StringArrayVar(&f.mounts, "mount", nil, "mount: type=bind|volume|tmpfs,source=..,target=..[,readonly][,tmpfs-size=..][,tmpfs-mode=..]")
	fl.StringArrayVar(&f.tmpfs, "tmpfs", nil, "tmpfs mount: PATH[:OPTIONS]")
	fl.StringArrayVarP(&f.publish, "publish", "p", nil, "publish a port: [[IP:]HOST-PORT:]CONTAINER-PORT[/tcp|udp]; no or an empty HOST-PORT picks a free one")
	fl.BoolVarP(&f.publishAll, "publish-all", "P", false, "publish every port the image EXPOSEs on a free host port")
	fl.StringVar(&f.restart, "restart", "no", "restart policy: no, on-failure[:N], always, unless-stopped")
	fl.StringVarP(&f.memory, "memory", "m", "", "memory limit (e.g. 32m, 1g)")
	fl.Float64Var(&f.cpus, "cpus", 0, "number of CPUs")
	fl.Int64Var(&f.pidsLimit, "pids-limit", 0, "maximum number of processes")
	fl.BoolVar(&f.privileged, "privileged", false, "keep every capability and device, and no masked or read-only paths")
	fl.StringArrayVar(&f.devices, "device", nil, "add a host device: HOST[:CONTAINER[:PERMS]], PERMS some of rwm (default rwm)")
	fl.StringArrayVar(&f.capAdd, "cap-add", nil, "add a capability (or ALL)")
	fl.StringArrayVar(&f.capDrop, "cap-drop", nil, "drop a capability (or ALL)")
	fl.StringArrayVar(&f.securityOpt, "security-opt", nil, "security option: no-new-privileges[:true|false], seccomp=unconfined|PROFILE.json")
	fl.StringVar(&f.stopSignal, "stop-signal", "", "signal that stops the container (default: the image's, else SIGTERM)")
	fl.IntVar(&f.stopTimeout, "stop-timeout", 0, "seconds to wait for the stop signal before SIGKILL (default 10)")
	fl.StringVar(&f.healthCmd, "health-cmd", "", "healthcheck command (run with /bin/sh -c)")
	fl.DurationVar(&f.healthInterval, "health-interval", 0, "time between healthchecks (default 30s)")
	fl.DurationVar(&f.healthTimeout, "health-timeout", 0, "healthcheck timeout (default 30s)")
	fl.DurationVar(&f.healthStart, "health-start-period", 0, "failures in this initial period do not count")
	fl.IntVar(&f.healthRetries, "health-retries", 0, "consecutive failures that make the container unhealthy (default 3)")
	fl.BoolVar(&f.noHealthcheck, "no-healthcheck", false, "disable the image's HEALTHCHECK")
	fl.StringArrayVarP(&f.labels, "label", "l", nil, "set a label KEY=VALUE")
	return c
}

func (a *app) containers() (*container.Store, error) {
	if err := a.open(); err != nil {
		return nil, err
	}
	return container.Open(a.root)
}

func (a *app) run(ctx context.Context, f *runFlags, ref string, cmdArgs []string) (int, error) {
	store, err := a.containers()
	if err != nil {
		return 0, err
	}
	// Flags are checked before anything is pulled or created.
	if _, err := publishedPorts(f.publish, false, nil); err != nil {
		return 0, err
	}
	cfg, img, err := a.newConfig(ctx, f, ref, cmdArgs)
	if err != nil {
		return 0, err
	}
	if err := store.Create(cfg); err != nil {
		return 0, err
	}
	if err := a.finishConfig(store, f, cfg, img); err != nil {
		_ = store.Remove(ctx, cfg.ID, true, true)
		return 0, err
	}
	if f.detach {
		if err := store.StartShim(ctx, cfg.ID, ""); err != nil {
			if f.rm {
				_ = store.Remove(ctx, cfg.ID, true, true)
			}
			return 0, err
		}
		fmt.Fprintln(a.stdout, cfg.ID)
		return 0, nil
	}
	return a.foreground(ctx, store, cfg.ID, f.interactive, f.tty, f.sigProxy)
}

// foreground supervises container id in this process with lade's stdio:
// stdin with interactive, lade's terminal followed with tty, and with
// sigProxy the signals lade receives passed on to the container rather
// than ending it.
func (a *app) foreground(ctx context.Context, store *container.Store, id string, interactive, tty, sigProxy bool) (int, error) {
	stdio := container.IO{Stdout: a.stdout, Stderr: a.stderr, SigProxy: sigProxy}
	if sigProxy {
		ctx = context.WithoutCancel(ctx)
	}
	if interactive {
		stdio.Stdin = a.stdin
	}
	if tty {
		// Raw only with -i: then keys, ^C included, go to the container.
		term, err := container.OpenTerminal(a.stdin, a.stdout, interactive)
		if err != nil {
			return 0, fmt.Errorf("setting up the terminal: %w", err)
		}
		defer term.Close()
		stdio.Terminal = term
	}
	return store.Supervise(ctx, id, stdio, a.stderr)
}

// pullForRun pulls an image run does not have and keeps it under its
// name, as docker run does, so images lists it and rmi removes it.
func (a *app) pullForRun(ctx context.Context, ref string) (v1.Image, error) {
	fmt.Fprintf(a.stderr, "Unable to find image '%s' locally\n", ref)
	img, err := a.images.Pull(ctx, ref, images.PullOptions{Insecure: a.insecure})
	if err != nil {
		return nil, err
	}
	return img, a.images.Keep(ctx, ref, img)
}

// newConfig resolves the image and the flags that need no rootfs.
func (a *app) newConfig(ctx context.Context, f *runFlags, ref string, cmdArgs []string) (*container.Config, *dockerspec.DockerOCIImage, error) {
	img, err := a.images.Get(ctx, ref)
	if errors.Is(err, images.ErrNotFound) {
		img, err = a.pullForRun(ctx, ref)
	}
	if err != nil {
		return nil, nil, err
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, nil, err
	}
	var ic dockerspec.DockerOCIImage
	if err := json.Unmarshal(raw, &ic); err != nil {
		return nil, nil, fmt.Errorf("decoding image config: %w", err)
	}
	imgID, _ := img.ConfigName()
	diffIDs, err := a.unpack(ctx, img)
	if err != nil {
		return nil, nil, err
	}
	entrypoint, cmd := ic.Config.Entrypoint, ic.Config.Cmd
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
		return nil, nil, errors.New("no command specified")
	}
	c := &container.Config{
		Name: f.name, Image: ref, ImageID: imgID.String(), Args: argv,
		Hostname: f.hostname, Network: f.network, OpenStdin: f.interactive,
		Tty: f.tty, Init: f.init,
		ReadOnly: f.readOnly, AutoRemove: f.rm, Privileged: f.privileged,
		StopSignal: ic.Config.StopSignal, StopTimeout: f.stopTimeout,
	}
	if c.Lowers, err = a.snapshots.Lowers(diffIDs); err != nil {
		return nil, nil, err
	}
	switch f.network {
	case "private", "default", "bridge":
		c.Network = "private"
	case "host", "none":
	default:
		return nil, nil, fmt.Errorf("network %q not supported: use private, host or none", f.network)
	}
	if f.stopSignal != "" {
		c.StopSignal = f.stopSignal
	}
	if _, err := container.ParseSignal(c.StopSignal); err != nil {
		return nil, nil, err
	}
	if c.Restart, err = parseRestart(f.restart); err != nil {
		return nil, nil, err
	}
	if c.Restart.Name != "no" && f.rm {
		return nil, nil, errors.New("conflicting options: --restart and --rm")
	}
	if c.Resources, err = parseResources(f); err != nil {
		return nil, nil, err
	}
	if c.Capabilities, err = capabilities(f); err != nil {
		return nil, nil, err
	}
	for _, d := range f.devices {
		dev, err := runner.DeviceFromFlag(d)
		if err != nil {
			return nil, nil, fmt.Errorf("--device: %w", err)
		}
		c.Devices = append(c.Devices, dev)
	}
	for _, o := range f.securityOpt {
		switch o {
		case "no-new-privileges", "no-new-privileges:true", "no-new-privileges=true":
			c.NoNewPrivileges = true
		case "no-new-privileges:false", "no-new-privileges=false":
		default:
			v, ok, err := seccompOption(o)
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				return nil, nil, fmt.Errorf("unsupported --security-opt %q", o)
			}
			c.Seccomp = v
		}
	}
	if c.Ports, err = publishedPorts(f.publish, f.publishAll, ic.Config.ExposedPorts); err != nil {
		return nil, nil, err
	}
	c.Healthcheck = healthcheck(f, ic.Config.Healthcheck)
	if len(f.labels) > 0 {
		c.Labels = map[string]string{}
		for _, l := range f.labels {
			k, v, _ := strings.Cut(l, "=")
			c.Labels[k] = v
		}
	}
	if c.Hostname == "" {
		c.Hostname = "pending" // the ID's prefix, once there is one
	}
	c.Env = append([]string(nil), ic.Config.Env...)
	return c, &ic, nil
}

// finishConfig does what needs the container's rootfs: user lookup,
// working directory, volumes.
func (a *app) finishConfig(store *container.Store, f *runFlags, c *container.Config, ic *dockerspec.DockerOCIImage) error {
	if f.hostname == "" {
		c.Hostname = c.ID[:12]
	}
	if err := store.MountRootfs(c); err != nil {
		return err
	}
	rootfs := store.Rootfs(c.ID)
	userSpec := ic.Config.User
	if f.user != "" {
		userSpec = f.user
	}
	if userSpec == "" {
		userSpec = "0"
	}
	user, err := fileop.ContainerUser(rootfs, userSpec, f.groupAdd)
	if err != nil {
		return err
	}
	c.User, c.UID, c.GID, c.AdditionalGIDs = userSpec, user.UID, user.GID, user.AdditionalGIDs
	c.GroupAdd = f.groupAdd
	env, err := runEnv(f)
	if err != nil {
		return err
	}
	for _, kv := range env {
		c.Env = container.SetEnv(c.Env, kv)
	}
	if !hasKey(c.Env, "PATH") {
		c.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, c.Env...)
	}
	if !hasKey(c.Env, "HOSTNAME") {
		c.Env = append(c.Env, "HOSTNAME="+c.Hostname)
	}
	if c.Tty {
		c.Env = container.DefaultTerm(c.Env)
	}
	if !hasKey(c.Env, "HOME") {
		c.Env = append(c.Env, "HOME="+user.Home)
	}
	c.Cwd = ic.Config.WorkingDir
	if f.workdir != "" {
		c.Cwd = f.workdir
	}
	if c.Cwd == "" {
		c.Cwd = "/"
	}
	if !filepath.IsAbs(c.Cwd) {
		return fmt.Errorf("the working directory %q is invalid: it needs to be an absolute path", c.Cwd)
	}
	cwdPath, err := securejoin.SecureJoin(rootfs, c.Cwd)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cwdPath, 0o755); err != nil {
		return fmt.Errorf("creating working directory: %w", err)
	}
	if err := a.containerMounts(store, f, c, ic, rootfs); err != nil {
		return err
	}
	if err := store.SaveConfig(c); err != nil {
		return err
	}
	return nil
}

// runEnv is --env-file then -e, in order, as KEY=VALUE.
func runEnv(f *runFlags) ([]string, error) {
	var list []string
	for _, file := range f.envFile {
		fh, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("--env-file: %w", err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			line := strings.TrimLeft(sc.Text(), " \t")
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			list = append(list, line)
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("--env-file %s: %w", file, err)
		}
	}
	list = append(list, f.env...)
	var out []string
	for _, kv := range list {
		k, _, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid environment variable %q", kv)
		}
		if !ok {
			// docker: a bare KEY takes lade's value, or is skipped.
			v, found := os.LookupEnv(k)
			if !found {
				continue
			}
			kv = k + "=" + v
		}
		out = append(out, kv)
	}
	return out, nil
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

func parseRestart(s string) (container.RestartPolicy, error) {
	name, n, hasN := strings.Cut(s, ":")
	p := container.RestartPolicy{Name: name}
	switch name {
	case "", "no":
		p.Name = "no"
	case "always", "unless-stopped":
	case "on-failure":
		if hasN {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return p, fmt.Errorf("invalid restart policy %q: bad retry count", s)
			}
			p.MaxRetries = v
		}
		return p, nil
	default:
		return p, fmt.Errorf("invalid restart policy %q", s)
	}
	if hasN {
		return p, fmt.Errorf("invalid restart policy %q: only on-failure takes a retry count", s)
	}
	return p, nil
}

func parseResources(f *runFlags) (container.Resources, error) {
	r := container.Resources{CPUs: f.cpus, PidsLimit: f.pidsLimit}
	if f.cpus < 0 || f.pidsLimit < 0 {
		return r, errors.New("--cpus and --pids-limit must not be negative")
	}
	if f.memory != "" {
		m, err := parseBytes(f.memory)
		if err != nil {
			return r, fmt.Errorf("invalid --memory: %w", err)
		}
		if m < 6<<20 {
			return r, errors.New("minimum memory limit allowed is 6MB")
		}
		r.Memory = m
	}
	return r, nil
}

// parseBytes reads docker sizes: 32m, 1g, 512k, 1024b or a plain number.
func parseBytes(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(v * float64(mult)), nil
}

// capabilities is docker's default set with --cap-add/--cap-drop applied;
// nil (all) when privileged.
func capabilities(f *runFlags) ([]string, error) {
	if f.privileged {
		return nil, nil
	}
	set := map[string]bool{}
	for _, c := range runner.DefaultCapabilities {
		set[c] = true
	}
	for _, name := range f.capDrop {
		n, err := runner.NormalizeCapability(name)
		if err != nil {
			return nil, err
		}
		if n == "ALL" {
			clear(set)
		}
		delete(set, n)
	}
	for _, name := range f.capAdd {
		n, err := runner.NormalizeCapability(name)
		if err != nil {
			return nil, err
		}
		if n == "ALL" {
			for _, c := range runner.AllCapabilities() {
				set[c] = true
			}
		}
		set[n] = n != "ALL"
	}
	out := []string{}
	for _, c := range runner.AllCapabilities() {
		if set[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

// healthcheck merges the image's HEALTHCHECK with the --health-* flags.
func healthcheck(f *runFlags, img *dockerspec.HealthcheckConfig) *container.Healthcheck {
	if f.noHealthcheck {
		return nil
	}
	hc := &container.Healthcheck{}
	if img != nil {
		hc.Test, hc.Interval, hc.Timeout, hc.StartPeriod, hc.Retries = img.Test, img.Interval, img.Timeout, img.StartPeriod, img.Retries
	}
	if f.healthCmd != "" {
		hc.Test = []string{"CMD-SHELL", f.healthCmd}
	}
	if f.healthInterval > 0 {
		hc.Interval = f.healthInterval
	}
	if f.healthTimeout > 0 {
		hc.Timeout = f.healthTimeout
	}
	if f.healthStart > 0 {
		hc.StartPeriod = f.healthStart
	}
	if f.healthRetries > 0 {
		hc.Retries = f.healthRetries
	}
	if len(hc.Test) == 0 || hc.Test[0] == "NONE" {
		return nil
	}
	return hc
}

func hasKey(env []string, k string) bool {
	for _, kv := range env {
		if key, _, _ := strings.Cut(kv, "="); key == k {
			return true
		}
	}
	return false
}
