package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/images"
)

func init() {
	commands = append(commands, (*app).runCmd)
}

// runFlags are run's flags: the container's options, bound straight into
// container.CreateOptions, and how this command runs it.
type runFlags struct {
	container.CreateOptions
	detach, sigProxy     bool
	platform, entrypoint string
	cidfile, pull        string
	attach               []string // -a: the streams a foreground run shows
}

// runCmd is docker run: create a container and run it in the foreground,
// or under a detached shim with -d.
func (a *app) runCmd() *cobra.Command {
	f := &runFlags{}
	var c *cobra.Command
	c = command("run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Run a command in a new container", cobra.MinimumNArgs(1), func(ctx context.Context, args []string) error {
		code, err := a.run(ctx, c, f, args[0], args[1:])
		if err != nil {
			return statusError{125, err}
		}
		if code != 0 {
			return exitError{code}
		}
		return nil
	})
	a.createFlags(c, f)
	fl := c.Flags()
	fl.BoolVarP(&f.detach, "detach", "d", false, "run in the background under a shim and print the container ID")
	fl.BoolVar(&f.sigProxy, "sig-proxy", true, "pass the signals lade receives on to the container's process (foreground)")
	fl.StringArrayVarP(&f.attach, "attach", "a", nil, "attach to STDIN, STDOUT or STDERR (default: STDOUT and STDERR, and STDIN with -i)")
	return c
}

// createFlags registers the container's options, which run and create
// share, into f.
func (a *app) createFlags(c *cobra.Command, f *runFlags) {
	fl := c.Flags()
	processFlags(c, &f.OpenStdin, &f.Tty, &f.Env, &f.Workdir)
	a.policyFlag(c)
	fl.BoolVar(&f.AutoRemove, "rm", false, "remove the container (and its anonymous volumes) when it exits")
	fl.BoolVar(&f.Init, "init", false, "run an init as pid 1 that forwards signals and reaps zombies")
	fl.StringArrayVar(&f.EnvFiles, "env-file", nil, "read environment variables from a file")
	fl.StringVar(&f.entrypoint, "entrypoint", "", "override the image's ENTRYPOINT")
	fl.StringVarP(&f.User, "user", "u", "", "user[:group] to run as")
	fl.StringArrayVar(&f.GroupAdd, "group-add", nil, "add a supplementary group (name from the image's /etc/group, or GID)")
	fl.StringVar(&f.Network, "network", "bridge", "network: bridge (the default network), a network's name, host, none (private: loopback only) or container:NAME")
	fl.StringArrayVar(&f.Net.Aliases, "network-alias", nil, "add a name the container is found by on a user-defined network")
	fl.StringArrayVar(&f.Net.ExtraHosts, "add-host", nil, "add a line to /etc/hosts: NAME:IP (IP may be host-gateway)")
	fl.StringArrayVar(&f.Net.DNS, "dns", nil, "set a DNS server")
	fl.StringArrayVar(&f.Net.DNSSearch, "dns-search", nil, "set a DNS search domain")
	fl.StringArrayVar(&f.Net.DNSOptions, "dns-option", nil, "set a DNS option (resolv.conf options)")
	fl.StringVar(&f.Net.MAC, "mac-address", "", "container MAC address (e.g. 02:42:ac:11:00:09)")
	fl.StringVar(&f.Hostname, "hostname", "", "container host name")
	fl.StringVar(&f.platform, "platform", "", "platform os/arch[/variant] of the image to run, from a multi-platform image or pulled (default: the host's)")
	fl.StringVar(&f.Name, "name", "", "container name")
	fl.BoolVar(&f.ReadOnly, "read-only", false, "mount the container's root filesystem read-only")
	fl.StringArrayVarP(&f.Volumes, "volume", "v", nil, "bind mount or volume: HOST-PATH|NAME:CONTAINER-PATH[:ro], or CONTAINER-PATH for an anonymous volume")
	fl.StringArrayVar(&f.Mounts, "mount", nil, "mount: type=bind|volume|tmpfs,source=..,target=..[,readonly][,tmpfs-size=..][,tmpfs-mode=..]")
	fl.StringArrayVar(&f.Tmpfs, "tmpfs", nil, "tmpfs mount: PATH[:OPTIONS]")
	fl.StringArrayVarP(&f.Publish, "publish", "p", nil, "publish a port: [[IP:]HOST-PORT:]CONTAINER-PORT[/tcp|udp]; no or an empty HOST-PORT picks a free one")
	fl.BoolVarP(&f.PublishAll, "publish-all", "P", false, "publish every port the image EXPOSEs on a free host port")
	fl.StringVar(&f.Restart, "restart", "no", "restart policy: no, on-failure[:N], always, unless-stopped")
	resourceFlags(c, &f.Memory, &f.MemorySwap, &f.CPUs, &f.CPUShares, &f.PidsLimit)
	limitFlags(c, &f.LimitOptions)
	fl.Int64Var(&f.MemorySwappiness, "memory-swappiness", -1, "tune the container's memory swappiness (0 to 100; cgroup v1)")
	fl.IntVar(&f.OOMScoreAdj, "oom-score-adj", 0, "tune the host's OOM preferences (-1000 to 1000)")
	fl.StringVar(&f.PidMode, "pid", "", "PID namespace to use: host, or the container's own (default)")
	fl.StringVar(&f.IpcMode, "ipc", "", "IPC namespace to use: host, or private (default)")
	fl.StringVar(&f.UTSMode, "uts", "", "UTS namespace to use: host, or the container's own (default)")
	fl.StringVar(&f.Domainname, "domainname", "", "container NIS domain name")
	fl.BoolVar(&f.Privileged, "privileged", false, "keep every capability and device, and no masked or read-only paths")
	fl.StringArrayVar(&f.Devices, "device", nil, "add a host device: HOST[:CONTAINER[:PERMS]], PERMS some of rwm (default rwm)")
	fl.StringArrayVar(&f.CapAdd, "cap-add", nil, "add a capability (or ALL)")
	fl.StringArrayVar(&f.CapDrop, "cap-drop", nil, "drop a capability (or ALL)")
	fl.StringArrayVar(&f.SecurityOpt, "security-opt", nil, "security option: no-new-privileges[:true|false], seccomp=unconfined|PROFILE.json")
	fl.StringVar(&f.StopSignal, "stop-signal", "", "signal that stops the container (default: the image's, else SIGTERM)")
	fl.IntVar(&f.StopTimeout, "stop-timeout", 0, "seconds to wait for the stop signal before SIGKILL (default 10)")
	fl.StringVar(&f.Health.Cmd, "health-cmd", "", "healthcheck command (run with /bin/sh -c)")
	fl.DurationVar(&f.Health.Interval, "health-interval", 0, "time between healthchecks (default 30s)")
	fl.DurationVar(&f.Health.Timeout, "health-timeout", 0, "healthcheck timeout (default 30s)")
	fl.DurationVar(&f.Health.StartPeriod, "health-start-period", 0, "failures in this initial period do not count")
	fl.DurationVar(&f.Health.StartInterval, "health-start-interval", 0, "time between healthchecks in the start period (default 5s)")
	fl.IntVar(&f.Health.Retries, "health-retries", 0, "consecutive failures that make the container unhealthy (default 3)")
	fl.BoolVar(&f.Health.Disable, "no-healthcheck", false, "disable the image's HEALTHCHECK")
	fl.StringArrayVarP(&f.Labels, "label", "l", nil, "set a label KEY=VALUE")
	fl.StringArrayVar(&f.LabelFiles, "label-file", nil, "read labels from a file of KEY=VALUE lines")
	fl.StringArrayVar(&f.Expose, "expose", nil, "expose a port or range (PORT[-END][/PROTO]) as the image's EXPOSE does, for -P")
	fl.StringArrayVar(&f.VolumesFrom, "volumes-from", nil, "mount the volumes and binds of a container: CONTAINER[:ro|rw]")
	fl.StringVar(&f.LogDriver, "log-driver", "json-file", "logging driver: json-file (what logs and attach read) or none")
	fl.StringVar(&f.ShmSize, "shm-size", "", "size of /dev/shm (default 64m)")
	fl.StringArrayVar(&f.Ulimits, "ulimit", nil, "resource limit: NAME=SOFT[:HARD] (e.g. nofile=1024:2048)")
	fl.StringArrayVar(&f.Sysctls, "sysctl", nil, "namespaced kernel parameter KEY=VALUE (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)")
	fl.StringVar(&f.cidfile, "cidfile", "", "write the container ID to this file (which must not exist)")
	fl.StringVar(&f.pull, "pull", "missing", "pull the image before creating: missing, always or never")
}

func (a *app) containers() (*container.Store, error) {
	if err := a.open(); err != nil {
		return nil, err
	}
	return container.Open(a.root)
}

// listContainers returns every container of the root, running or not.
func (a *app) listContainers() ([]*container.Container, error) {
	cs, err := a.containers()
	if err != nil {
		return nil, err
	}
	return cs.List()
}

func (a *app) run(ctx context.Context, c *cobra.Command, f *runFlags, ref string, cmdArgs []string) (int, error) {
	if f.detach && len(f.attach) > 0 {
		return 0, errors.New("conflicting options: cannot specify both --attach and --detach")
	}
	// run's heap stays a few MiB: a higher target spares the start its
	// one collection (milliseconds of CPU while the container starts).
	debug.SetGCPercent(400)
	streams, err := attachStreams(f.attach, f.OpenStdin)
	if err != nil {
		return 0, err
	}
	if !f.detach {
		// As docker run: the attached stdin's end is the container's.
		f.AttachStdout, f.AttachStderr, f.StdinOnce = streams.stdout, streams.stderr, f.OpenStdin
	}
	// A foreground container's init starts now, beside the image's
	// resolution and the container's creation.
	var pre *container.Prestart
	if store, err := a.containers(); err == nil && !f.detach {
		pre = store.Prestart(&f.CreateOptions)
	}
	store, cfg, err := a.create(ctx, c, f, ref, cmdArgs)
	if err != nil {
		pre.Close()
		return 0, err
	}
	if f.detach {
		if err := store.StartShim(ctx, cfg.ID, ""); err != nil {
			if f.AutoRemove {
				_ = store.Remove(ctx, cfg.ID, true, true)
			}
			return 0, err
		}
		fmt.Fprintln(a.stdout, cfg.ID)
		return 0, nil
	}
	return a.foreground(ctx, store, cfg.ID, streams, f.Tty, f.sigProxy, pre)
}

// streams are the standard streams a foreground container is attached to.
type streams struct{ stdin, stdout, stderr bool }

// attachStreams reads run's -a values; none means stdout and stderr,
// and stdin with -i.
func attachStreams(names []string, interactive bool) (streams, error) {
	if len(names) == 0 {
		return streams{interactive, true, true}, nil
	}
	var s streams
	for _, n := range names {
		switch strings.ToLower(n) {
		case "stdin":
			s.stdin = true
		case "stdout":
			s.stdout = true
		case "stderr":
			s.stderr = true
		default:
			return s, fmt.Errorf("invalid argument %q for -a: valid streams are STDIN, STDOUT and STDERR", n)
		}
	}
	return s, nil
}

// create is docker create: ref's image, pulled when missing, made into a
// container with c's flags f and cmdArgs as its command.
func (a *app) create(ctx context.Context, c *cobra.Command, f *runFlags, ref string, cmdArgs []string) (*container.Store, *container.Config, error) {
	store, err := a.containers()
	if err != nil {
		return nil, nil, err
	}
	// Flags are checked before anything is pulled or created.
	if err := f.CheckPublish(); err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(f.cidfile); f.cidfile != "" && err == nil {
		return nil, nil, fmt.Errorf("container ID file found, make sure the other container isn't running or delete %s", f.cidfile)
	}
	img, err := a.runImage(ctx, ref, f.platform, f.pull)
	if err != nil {
		return nil, nil, err
	}
	opts := f.CreateOptions
	if c.Flags().Changed("entrypoint") {
		opts.Entrypoint = &f.entrypoint
	}
	opts.Cmd = cmdArgs
	cfg, err := store.CreateFromImage(ctx, img, opts)
	if err == nil && f.cidfile != "" {
		if err = os.WriteFile(f.cidfile, []byte(cfg.ID), 0o644); err != nil {
			_ = store.Remove(ctx, cfg.ID, true, true)
			return nil, nil, fmt.Errorf("writing the container ID file: %w", err)
		}
	}
	return store, cfg, err
}

// foreground supervises container id in this process with lade's stdio:
// stdin with interactive, lade's terminal followed with tty, and with
// sigProxy the signals lade receives passed on to the container rather
// than ending it; pre is its init if Prestart launched one.
func (a *app) foreground(ctx context.Context, store *container.Store, id string, attach streams, tty, sigProxy bool, pre *container.Prestart) (int, error) {
	stdio := container.IO{SigProxy: sigProxy, Prestart: pre}
	if attach.stdout {
		stdio.Stdout = a.stdout
	}
	if attach.stderr {
		stdio.Stderr = a.stderr
	}
	interactive := attach.stdin
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

// pullForRun pulls an image run does not have (for plat: all zero is
// the host's) and keeps it under its name, as docker run does, so images
// lists it and rmi removes it.
func (a *app) pullForRun(ctx context.Context, ref string, plat v1.Platform) (v1.Image, error) {
	verify, err := a.signatureCheck(ref)
	if err != nil {
		return nil, err
	}
	img, err := a.images.Pull(ctx, ref, images.PullOptions{Insecure: a.insecure, Platform: plat, Verify: verify, Snapshots: a.snapshots})
	if err != nil {
		return nil, err
	}
	return img, a.images.Keep(ctx, ref, img)
}

// platformImage is ref's stored image for platform ("": the host's),
// pulled when the store has none for it.
func (a *app) platformImage(ctx context.Context, ref, platform, pull string) (v1.Image, error) {
	p, err := platformFlag(platform)
	if err != nil {
		return nil, err
	}
	if pull != "missing" && pull != "always" && pull != "never" {
		return nil, fmt.Errorf("invalid --pull %q: missing, always or never", pull)
	}
	plat := images.DefaultPlatform()
	get := func() (v1.Image, error) { return a.images.Get(ctx, ref) }
	if p != nil {
		plat = *p
		get = func() (v1.Image, error) { return a.images.GetPlatform(ctx, ref, *p) }
	}
	if pull == "always" {
		return a.pullForRun(ctx, ref, plat)
	}
	img, err := get()
	if errors.Is(err, images.ErrNotFound) && pull == "missing" {
		fmt.Fprintf(a.stderr, "Unable to find image '%s' locally\n", ref)
		img, err = a.pullForRun(ctx, ref, plat)
	}
	return img, err
}

// platformFlag parses a --platform value; nil for none.
func platformFlag(s string) (*v1.Platform, error) {
	if s == "" {
		return nil, nil
	}
	p, err := images.ParsePlatform(s)
	if err != nil {
		return nil, fmt.Errorf("--platform: %w", err)
	}
	return &p, nil
}

// runImage is ref's image for platform, pulled when missing, with its
// layers unpacked into snapshots.
func (a *app) runImage(ctx context.Context, ref, platform, pull string) (container.Image, error) {
	img, err := a.platformImage(ctx, ref, platform, pull)
	if err != nil {
		return container.Image{}, err
	}
	return engine.ContainerImage(ctx, a.snapshots, ref, img)
}

// processFlags registers the flags run and exec share, on how the
// command's process runs: -i, -t, -e and -w. Arguments after the image
// or container are the command's.
func processFlags(c *cobra.Command, interactive, tty *bool, env *[]string, workdir *string) {
	fl := c.Flags()
	fl.SetInterspersed(false)
	fl.BoolVarP(interactive, "interactive", "i", false, "keep stdin attached")
	fl.BoolVarP(tty, "tty", "t", false, "allocate a pseudo-TTY as the command's stdin, stdout and stderr")
	fl.StringArrayVarP(env, "env", "e", nil, "set an environment variable (KEY=VALUE, or KEY from the environment)")
	fl.StringVarP(workdir, "workdir", "w", "", "working directory inside the container")
}
