package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/images"
)

func init() {
	commands = append(commands, (*app).runCmd)
}

// runFlags are run's flags: the container's options, bound straight into
// container.CreateOptions, and how this command runs it.
type runFlags struct {
	container.CreateOptions
	detach, sigProxy bool
	platform         string
}

// runCmd is docker run: create a container and run it in the foreground,
// or under a detached shim with -d.
func (a *app) runCmd() *cobra.Command {
	f := &runFlags{}
	var entry string
	var c *cobra.Command
	c = command("run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Run a command in a new container", cobra.MinimumNArgs(1), func(ctx context.Context, args []string) error {
		if c.Flags().Changed("entrypoint") {
			f.Entrypoint = &entry
		}
		code, err := a.run(ctx, f, args[0], args[1:])
		if err != nil {
			return statusError{125, err}
		}
		if code != 0 {
			return exitError{code}
		}
		return nil
	})
	fl := c.Flags()
	processFlags(c, &f.OpenStdin, &f.Tty, &f.Env, &f.Workdir)
	a.policyFlag(c)
	fl.BoolVar(&f.AutoRemove, "rm", false, "remove the container (and its anonymous volumes) when it exits")
	fl.BoolVarP(&f.detach, "detach", "d", false, "run in the background under a shim and print the container ID")
	fl.BoolVar(&f.sigProxy, "sig-proxy", true, "pass the signals lade receives on to the container's process (foreground)")
	fl.BoolVar(&f.Init, "init", false, "run an init as pid 1 that forwards signals and reaps zombies")
	fl.StringArrayVar(&f.EnvFiles, "env-file", nil, "read environment variables from a file")
	fl.StringVar(&entry, "entrypoint", "", "override the image's ENTRYPOINT")
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
	fl.StringVarP(&f.Memory, "memory", "m", "", "memory limit (e.g. 32m, 1g)")
	fl.Float64Var(&f.CPUs, "cpus", 0, "number of CPUs")
	fl.Int64Var(&f.PidsLimit, "pids-limit", 0, "maximum number of processes")
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
	fl.IntVar(&f.Health.Retries, "health-retries", 0, "consecutive failures that make the container unhealthy (default 3)")
	fl.BoolVar(&f.Health.Disable, "no-healthcheck", false, "disable the image's HEALTHCHECK")
	fl.StringArrayVarP(&f.Labels, "label", "l", nil, "set a label KEY=VALUE")
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
	if err := f.CheckPublish(); err != nil {
		return 0, err
	}
	img, err := a.runImage(ctx, ref, f.platform)
	if err != nil {
		return 0, err
	}
	opts := f.CreateOptions
	opts.Cmd = cmdArgs
	cfg, err := store.CreateFromImage(ctx, img, opts)
	if err != nil {
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
	return a.foreground(ctx, store, cfg.ID, f.OpenStdin, f.Tty, f.sigProxy)
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

// pullForRun pulls an image run does not have (for plat: all zero is
// the host's) and keeps it under its name, as docker run does, so images
// lists it and rmi removes it.
func (a *app) pullForRun(ctx context.Context, ref string, plat v1.Platform) (v1.Image, error) {
	fmt.Fprintf(a.stderr, "Unable to find image '%s' locally\n", ref)
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
func (a *app) platformImage(ctx context.Context, ref, platform string) (v1.Image, error) {
	p, err := platformFlag(platform)
	if err != nil {
		return nil, err
	}
	plat := images.DefaultPlatform()
	get := func() (v1.Image, error) { return a.images.Get(ctx, ref) }
	if p != nil {
		plat = *p
		get = func() (v1.Image, error) { return a.images.GetPlatform(ctx, ref, *p) }
	}
	img, err := get()
	if errors.Is(err, images.ErrNotFound) {
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
func (a *app) runImage(ctx context.Context, ref, platform string) (container.Image, error) {
	img, err := a.platformImage(ctx, ref, platform)
	if err != nil {
		return container.Image{}, err
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return container.Image{}, err
	}
	var ic dockerspec.DockerOCIImage
	if err := json.Unmarshal(raw, &ic); err != nil {
		return container.Image{}, fmt.Errorf("decoding image config: %w", err)
	}
	imgID, _ := img.ConfigName()
	diffIDs, err := a.snapshots.UnpackImage(ctx, img)
	if err != nil {
		return container.Image{}, err
	}
	lowers, err := a.snapshots.Lowers(diffIDs)
	if err != nil {
		return container.Image{}, err
	}
	return container.Image{Ref: ref, ID: imgID.String(), Config: &ic, Lowers: lowers}, nil
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
