package container

import (
	"context"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/lade-build/lade/network"
	"github.com/lade-build/lade/runner"
	"github.com/lade-build/lade/runner/seccomp"
)

// runOnce starts the container's process and waits for it. Its init is
// launched first: lade's second start (the init's runtime) then overlaps
// the network and root filesystem setup, which the init takes with its
// config.
func (s *Store) runOnce(ctx context.Context, r *supervision) (int, error) {
	c := r.c
	spec, err := processSpec(c, r)
	if err != nil {
		return -1, err
	}
	rn, cg, err := s.startInit(r, spec)
	if err != nil {
		return -1, err
	}
	defer cg.remove()
	defer rn.Close()
	att, err := s.attachNetwork(ctx, c, r.ports, r.warn)
	if err != nil {
		return -1, err
	}
	defer s.detachNetwork(ctx, att)
	if err := s.placeSpec(spec, c, att); err != nil {
		return -1, err
	}
	health := &healthRun{}
	runCtx, cancelHealth := context.WithCancel(ctx)
	// Recorded once the command runs: exec must not join an init that is
	// still setting up (or is still lade's code).
	spec.Running = func(p int) error {
		r.pid.Store(int64(p))
		r.proxy.SetPid(p)
		if err := s.recordRunning(c, p, networkState(att)); err != nil {
			return err
		}
		r.stdio.Ready(nil)
		if c.PidMode == "host" {
			killWithInit(c.ID, p)
		}
		health.start(func() { s.runHealthcheck(runCtx, c, p) })
		return nil
	}
	code, err := rn.Run(ctx, spec)
	cancelHealth()
	health.wait()
	r.pid.Store(0)
	r.proxy.SetPid(0)
	if uerr := s.recordExit(c, code, err, cg.oomKills() > 0); uerr != nil && err == nil {
		err = uerr
	}
	return code, err
}

// startInit makes the container's cgroup and launches its init (Launch:
// its start overlaps what follows), or, for the first run, takes the one
// Prestart launched before the container existed.
func (s *Store) startInit(r *supervision, spec *runner.Spec) (rn *runner.Runner, cg *cgroup, err error) {
	pre := r.pre
	r.pre = nil
	if rn, cg, ok := pre.take(r.c, spec, r.stdout, r.stderr); ok {
		return rn, cg, nil
	}
	c := r.c
	if cg, err = setupCgroup(c.ID, c.Resources, r.warn); err != nil {
		return nil, nil, err
	}
	// The init joins the cgroups before it unshares its cgroup namespace.
	spec.Cgroups = cg.paths()
	spec.CgroupAtClone = unlimited(c.Resources)
	rn = runner.New()
	if err := rn.Launch(spec); err != nil {
		rn.Close()
		_ = cg.remove()
		return nil, nil, err
	}
	return rn, cg, nil
}

// unlimited reports whether r sets no limit: lade's start in such a
// cgroup (the init is cloned into it) is charged nothing that could stop
// or slow it.
func unlimited(r Resources) bool { return r == (Resources{}) }

// processSpec describes the container's process to runner, but for its
// root filesystem, mounts and network (placeSpec).
func processSpec(c *Config, r *supervision) (*runner.Spec, error) {
	spec := &runner.Spec{
		Args: c.Args, Env: c.Env, Cwd: c.Cwd,
		UID: c.UID, GID: c.GID, AdditionalGIDs: c.AdditionalGIDs,
		Hostname: c.Hostname, Network: runner.NetworkPrivate,
		Stdin: r.stdio.Stdin, Stdout: r.stdout, Stderr: r.stderr,
		Tty: c.Tty, Init: c.Init, CgroupNS: true,
		ReadonlyRootfs: c.ReadOnly, NoNewPrivileges: c.NoNewPrivileges,
		Capabilities: c.Capabilities, Platform: c.Platform,
		// Named after the container so exec finds and joins it.
		AllDevices: c.Privileged, Devices: c.Devices, DeviceCgroup: "lade/" + c.ID,
		// The upper dir goes with the container.
		KeepMountTargets: c.AutoRemove,
	}
	var err error
	if spec.Seccomp, err = seccomp.ForContainer(c.Seccomp, c.Privileged); err != nil {
		return nil, err
	}
	if c.Network == "host" {
		spec.Network = runner.NetworkHost
	}
	if !c.Privileged {
		spec.MaskedPaths, spec.ReadonlyPaths = runner.DefaultMaskedPaths, runner.DefaultReadonlyPaths
	}
	spec.ShmSize, spec.Sysctls = c.ShmSize, c.Sysctls
	namespaceSpec(spec, c)
	if spec.Rlimits, err = rlimits(c.Ulimits); err != nil {
		return nil, err
	}
	if c.Tty && r.stdio.Terminal != nil {
		spec.TtySize, spec.Console = r.stdio.Terminal.Size(), r.stdio.Terminal.Follow
	}
	return spec, nil
}

// placeSpec mounts the container's rootfs and /etc files and puts them
// and its network namespace (att's, or a shared one) into spec.
func (s *Store) placeSpec(spec *runner.Spec, c *Config, att *network.Attachment) error {
	if err := s.MountRootfs(c); err != nil {
		return err
	}
	etc, err := s.WriteEtc(c, att)
	if err != nil {
		return err
	}
	spec.Rootfs = s.Rootfs(c.ID)
	if att != nil {
		spec.NetNS = att.NSPath()
	}
	if sharedWith(c) != "" {
		if spec.NetNS, err = s.sharedNS(c); err != nil {
			return err
		}
	}
	spec.Mounts = runnerMounts(append(etc, c.Mounts...))
	return nil
}

// runnerMounts are the container's mounts as runner takes them.
func runnerMounts(mounts []Mount) []runner.Mount {
	var out []runner.Mount
	for _, m := range mounts {
		rm := runner.Mount{Type: "bind", Source: m.Source, Target: m.Target}
		if m.Type == "tmpfs" {
			rm = runner.Mount{Type: "tmpfs", Target: m.Target, Options: m.Options}
		}
		if m.ReadOnly {
			rm.Options = append(rm.Options, "ro")
		}
		out = append(out, rm)
	}
	return out
}

// healthRun is the healthcheck goroutine of one run of the process.
type healthRun struct {
	done    chan struct{}
	started bool
}

func (h *healthRun) start(fn func()) {
	h.done, h.started = make(chan struct{}), true
	go func() {
		defer close(h.done)
		fn()
	}()
}

// wait returns once a started healthcheck has ended.
func (h *healthRun) wait() {
	if h.started {
		<-h.done
	}
}

// recordRunning records that the process p runs, on net.
func (s *Store) recordRunning(c *Config, p int, net *NetworkState) error {
	err := s.UpdateState(c.ID, func(st *State) {
		st.Status, st.Pid, st.ExitCode, st.Error, st.OOMKilled = StatusRunning, p, 0, "", false
		st.Network = net
		st.StartedAt, st.FinishedAt = time.Now().UTC(), time.Time{}
		if c.Healthcheck != nil {
			st.Health = &Health{Status: "starting"}
		}
	})
	if err == nil {
		s.event(events.ActionStart, c, nil)
	}
	return err
}

// recordExit records the process's end: its status, or 125 and the
// error when it could not run; the supervisor that saw it end records
// the die event.
func (s *Store) recordExit(c *Config, code int, err error, oom bool) error {
	uerr := s.UpdateState(c.ID, func(st *State) {
		st.Status, st.Pid, st.ExitCode, st.OOMKilled, st.Paused, st.Network = StatusExited, 0, code, oom, false, nil
		st.FinishedAt = time.Now().UTC()
		if err != nil {
			st.ExitCode, st.Error = 125, err.Error()
		}
	})
	if oom {
		s.event(events.ActionOOM, c, nil)
	}
	if err != nil {
		code = 125
	}
	s.event(events.ActionDie, c, map[string]string{"exitCode": strconv.Itoa(code)})
	return uerr
}
