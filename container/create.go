package container

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/events"

	"github.com/lade-build/lade/runner"
)

// CreateOptions are docker run's options as parsed from its flags (or,
// later, from an API request), before they are checked against the image.
// CreateFromImage turns them into a Config.
type CreateOptions struct {
	// ID, when set, is the new container's (Prestart sets it).
	ID                                     string
	Name, Hostname, Network, User, Workdir string
	// Entrypoint, when set, replaces the image's ENTRYPOINT (and drops
	// its CMD); "" clears it.
	Entrypoint *string
	Cmd        []string // replaces the image's CMD when not empty

	OpenStdin, Tty, Init, ReadOnly, AutoRemove, Privileged bool
	// StdinOnce (docker's): the container's stdin closes when the
	// first attach's stdin ends.
	StdinOnce bool
	// AttachStdout and AttachStderr are the streams docker's -a (or a
	// foreground run) attaches, kept for inspect.
	AttachStdout, AttachStderr bool

	StopSignal  string // default: the image's, else SIGTERM
	StopTimeout int    // seconds
	Restart     string // no, on-failure[:N], always, unless-stopped

	Memory     string // docker size: 32m, 1g
	MemorySwap string // memory plus swap, a size or -1 (unlimited)
	CPUs       float64
	CPUShares  int64
	PidsLimit  int64
	LimitOptions
	OOMScoreAdj int
	// PidMode, IpcMode and UTSMode are "" or "host" (private: "private").
	PidMode, IpcMode, UTSMode, Domainname string

	CapAdd, CapDrop, Devices, SecurityOpt, GroupAdd []string

	Publish    []string // -p values
	PublishAll bool     // -P: every EXPOSEd port on a free host port

	Health HealthOptions
	Labels []string // KEY=VALUE

	Net NetSettings // --network-alias, --add-host, --dns*, --mac-address

	EnvFiles, Env          []string // --env-file, then -e
	Volumes, Mounts, Tmpfs []string // -v, --mount, --tmpfs values
	VolumesFrom            []string // CONTAINER[:ro|rw]
	LabelFiles             []string // files of KEY=VALUE lines, before -l
	Expose                 []string // PORT[/PROTO] or a range, added to the image's for -P
	LogDriver              string   // json-file (""), or none
	ShmSize                string   // /dev/shm's size (docker size)
	Ulimits, Sysctls       []string // NAME=SOFT[:HARD], KEY=VALUE
}

// HealthOptions are the --health-* flags, laid over the image's
// HEALTHCHECK.
type HealthOptions struct {
	Cmd                                           string   // run with /bin/sh -c
	Test                                          []string // docker's form, CMD ARGS... or CMD-SHELL CMD (the API's); over Cmd
	Interval, Timeout, StartPeriod, StartInterval time.Duration
	Retries                                       int
	Disable                                       bool // --no-healthcheck
}

// Image is what a container is created from: an image already pulled and
// unpacked into snapshots.
type Image struct {
	Ref, ID string
	Config  *dockerspec.DockerOCIImage
	Lowers  []string // the layers' snapshot dirs, top-most first
}

// CheckPublish checks the -p values, which can be checked before an image
// is pulled.
func (o *CreateOptions) CheckPublish() error {
	_, err := PublishedPorts(o.Publish, false, nil)
	return err
}

// CreateFromImage creates a container from img as docker run (or create)
// does: options checked, the container recorded, its rootfs mounted, the
// user, working directory and volumes resolved in it. A container that
// fails half-way is removed again.
func (s *Store) CreateFromImage(ctx context.Context, img Image, o CreateOptions) (*Config, error) {
	c, err := newConfig(img, &o)
	if err != nil {
		return nil, err
	}
	if err := s.resolveNetwork(ctx, c, &o); err != nil {
		return nil, err
	}
	// The supervisor lock is held until the container is complete: an
	// `rm -f` meanwhile waits for it (then the start finds it removed).
	release, err := s.create(c)
	if err != nil {
		return nil, err
	}
	err = s.finishConfig(c, img.Config, &o)
	release()
	if err != nil {
		_ = s.Remove(ctx, c.ID, true, true)
		return nil, err
	}
	s.event(events.ActionCreate, c, nil)
	return c, nil
}

// newConfig resolves the image and the options that need no rootfs.
func newConfig(img Image, o *CreateOptions) (*Config, error) {
	ic := img.Config.Config
	argv, err := commandLine(ic.Entrypoint, ic.Cmd, o)
	if err != nil {
		return nil, err
	}
	c := &Config{
		ID: o.ID, Name: o.Name, Image: img.Ref, ImageID: img.ID, Args: argv,
		Lowers:   img.Lowers,
		Hostname: o.Hostname, Network: o.Network, OpenStdin: o.OpenStdin,
		StdinOnce: o.StdinOnce && o.OpenStdin,
		Tty:       o.Tty, Init: o.Init, AttachStdout: o.AttachStdout, AttachStderr: o.AttachStderr,
		ReadOnly: o.ReadOnly, AutoRemove: o.AutoRemove, Privileged: o.Privileged,
		StopSignal: ic.StopSignal, StopTimeout: o.StopTimeout,
	}
	if c.Network, err = networkMode(o.Network); err != nil {
		return nil, err
	}
	c.Net = o.Net
	if err := checkNetSettings(c); err != nil {
		return nil, err
	}
	if err := applyRuntimeOptions(c, o); err != nil {
		return nil, err
	}
	exposed, err := exposedPorts(ic.ExposedPorts, o.Expose)
	if err != nil {
		return nil, err
	}
	if c.Ports, err = PublishedPorts(o.Publish, o.PublishAll, exposed); err != nil {
		return nil, err
	}
	c.Healthcheck = o.Health.merge(ic.Healthcheck)
	if c.Labels, err = labels(o.LabelFiles, o.Labels); err != nil {
		return nil, err
	}
	if c.LogDriver, err = logDriver(o.LogDriver); err != nil {
		return nil, err
	}
	if err := applyKernelOptions(c, o); err != nil {
		return nil, err
	}
	if err := applyNamespaceModes(c, o); err != nil {
		return nil, err
	}
	if c.Hostname == "" {
		c.Hostname = "pending" // the ID's prefix, once there is one
	}
	c.Env = append([]string(nil), ic.Env...)
	if arch := img.Config.Architecture; arch != "" {
		c.Platform = &v1.Platform{OS: img.Config.OS, Architecture: arch, Variant: img.Config.Variant}
	}
	return c, nil
}

// commandLine is the image's ENTRYPOINT and CMD with the options'
// replacements.
func commandLine(entrypoint, cmd []string, o *CreateOptions) ([]string, error) {
	if o.Entrypoint != nil {
		entrypoint, cmd = nil, nil
		if *o.Entrypoint != "" {
			entrypoint = []string{*o.Entrypoint}
		}
	}
	if len(o.Cmd) > 0 {
		cmd = o.Cmd
	}
	argv := append(append([]string(nil), entrypoint...), cmd...)
	if len(argv) == 0 {
		return nil, errors.New("no command specified")
	}
	return argv, nil
}

// applyRuntimeOptions sets what the process runs under: stop signal,
// restart policy, resources, capabilities, devices and security options.
func applyRuntimeOptions(c *Config, o *CreateOptions) error {
	var err error
	if o.StopSignal != "" {
		c.StopSignal = o.StopSignal
	}
	if _, err := ParseSignal(c.StopSignal); err != nil {
		return err
	}
	if c.Restart, err = ParseRestart(o.Restart); err != nil {
		return err
	}
	if c.Restart.Name != "no" && o.AutoRemove {
		return errors.New("conflicting options: --restart and --rm")
	}
	if c.Resources, err = o.resources(); err != nil {
		return err
	}
	if err := rootlessLimits(c.Resources); err != nil {
		return err
	}
	if c.Capabilities, err = o.capabilities(); err != nil {
		return err
	}
	for _, d := range o.Devices {
		dev, err := runner.DeviceFromFlag(d)
		if err != nil {
			return fmt.Errorf("--device: %w", err)
		}
		c.Devices = append(c.Devices, dev)
	}
	return applySecurityOpts(c, o.SecurityOpt)
}

// applySecurityOpts reads --security-opt no-new-privileges and seccomp=.
func applySecurityOpts(c *Config, opts []string) error {
	for _, o := range opts {
		switch o {
		case "no-new-privileges", "no-new-privileges:true", "no-new-privileges=true":
			c.NoNewPrivileges = true
		case "no-new-privileges:false", "no-new-privileges=false":
		default:
			v, ok, err := SeccompOption(o)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("unsupported --security-opt %q", o)
			}
			c.Seccomp = v
		}
	}
	return nil
}

// labels reads --label-file's lines, then -l's KEY=VALUE (later wins).
func labels(files, kvs []string) (map[string]string, error) {
	var all []string
	for _, f := range files {
		lines, err := readEnvFile(f)
		if err != nil {
			return nil, fmt.Errorf("--label-file: %w", err)
		}
		all = append(all, lines...)
	}
	all = append(all, kvs...)
	if len(all) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, l := range all {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m, nil
}

// logDriver checks --log-driver: docker's json-file (lade's log) or none.
func logDriver(d string) (string, error) {
	switch d {
	case "", "json-file":
		return "", nil
	case "none":
		return d, nil
	}
	return "", fmt.Errorf("unsupported --log-driver %q: lade has json-file and none", d)
}

// exposedPorts is the image's EXPOSE with --expose's ports (PORT[/PROTO]
// or START-END[/PROTO]) added.
func exposedPorts(image map[string]struct{}, expose []string) (map[string]struct{}, error) {
	out := map[string]struct{}{}
	for k := range image {
		out[k] = struct{}{}
	}
	for _, e := range expose {
		spec, proto, _ := strings.Cut(e, "/")
		if proto == "" {
			proto = "tcp"
		}
		lo, hi, isRange := strings.Cut(spec, "-")
		first, err1 := strconv.Atoi(lo)
		last, err2 := first, error(nil)
		if isRange {
			last, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || first < 1 || last > 65535 || last < first || proto != "tcp" && proto != "udp" {
			return nil, fmt.Errorf("invalid --expose %q", e)
		}
		for p := first; p <= last; p++ {
			out[fmt.Sprintf("%d/%s", p, proto)] = struct{}{}
		}
	}
	return out, nil
}
