package container

import (
	"context"
	"time"

	"github.com/lade-build/lade/network"
	"github.com/lade-build/lade/runner"
	"github.com/lade-build/lade/runner/seccomp"
)

// runOnce starts the container's process and waits for it.
func (s *Store) runOnce(ctx context.Context, r *supervision) (int, error) {
	c := r.c
	att, err := s.attachNetwork(ctx, c, r.ports, r.warn)
	if err != nil {
		return -1, err
	}
	defer s.detachNetwork(ctx, c, att)
	spec, err := s.runSpec(c, r, att)
	if err != nil {
		return -1, err
	}
	cg, err := setupCgroup(c.ID, c.Resources, r.warn)
	if err != nil {
		return -1, err
	}
	defer cg.remove()
	// The init joins the cgroups before it unshares its cgroup namespace.
	spec.Cgroups = cg.paths()
	health := &healthRun{}
	runCtx, cancelHealth := context.WithCancel(ctx)
	// Recorded once the command runs: exec must not join an init that is
	// still setting up (or is still lade's code).
	spec.Running = func(p int) error {
		r.pid.Store(int64(p))
		r.proxy.SetPid(p)
		if err := s.recordRunning(c, p); err != nil {
			return err
		}
		r.stdio.Ready(nil)
		health.start(func() { s.runHealthcheck(runCtx, c, p) })
		return nil
	}
	code, err := runner.New().Run(ctx, spec)
	cancelHealth()
	health.wait()
	r.pid.Store(0)
	r.proxy.SetPid(0)
	if uerr := s.recordExit(c.ID, code, err, cg.oomKills() > 0); uerr != nil && err == nil {
		err = uerr
	}
	return code, err
}

// runSpec mounts the container's rootfs and /etc files and describes its
// process to runner.
func (s *Store) runSpec(c *Config, r *supervision, att *network.Attachment) (*runner.Spec, error) {
	if err := s.MountRootfs(c); err != nil {
		return nil, err
	}
	etc, err := s.WriteEtc(c, att)
	if err != nil {
		return nil, err
	}
	spec := &runner.Spec{
		Rootfs: s.Rootfs(c.ID), Args: c.Args, Env: c.Env, Cwd: c.Cwd,
		UID: c.UID, GID: c.GID, AdditionalGIDs: c.AdditionalGIDs,
		Hostname: c.Hostname, Network: runner.NetworkPrivate,
		Stdin: r.stdio.Stdin, Stdout: r.stdout, Stderr: r.stderr,
		Tty: c.Tty, Init: c.Init, CgroupNS: true,
		ReadonlyRootfs: c.ReadOnly, NoNewPrivileges: c.NoNewPrivileges,
		Capabilities: c.Capabilities, Platform: c.Platform,
		// Named after the container so exec finds and joins it.
		AllDevices: c.Privileged, Devices: c.Devices, DeviceCgroup: "lade/" + c.ID,
	}
	if spec.Seccomp, err = seccomp.ForContainer(c.Seccomp, c.Privileged); err != nil {
		return nil, err
	}
	if c.Network == "host" {
		spec.Network = runner.NetworkHost
	}
	if att != nil {
		spec.NetNS = att.NSPath()
	}
	if sharedWith(c) != "" {
		if spec.NetNS, err = s.sharedNS(c); err != nil {
			return nil, err
		}
	}
	if !c.Privileged {
		spec.MaskedPaths, spec.ReadonlyPaths = runner.DefaultMaskedPaths, runner.DefaultReadonlyPaths
	}
	spec.Mounts = runnerMounts(append(etc, c.Mounts...))
	if c.Tty && r.stdio.Terminal != nil {
		spec.TtySize, spec.Console = r.stdio.Terminal.Size(), r.stdio.Terminal.Follow
	}
	return spec, nil
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

// recordRunning records that the process p runs.
func (s *Store) recordRunning(c *Config, p int) error {
	return s.UpdateState(c.ID, func(st *State) {
		st.Status, st.Pid, st.ExitCode, st.Error, st.OOMKilled = StatusRunning, p, 0, "", false
		st.StartedAt, st.FinishedAt = time.Now().UTC(), time.Time{}
		if c.Healthcheck != nil {
			st.Health = &Health{Status: "starting"}
		}
	})
}

// recordExit records the process's end: its status, or 125 and the
// error when it could not run.
func (s *Store) recordExit(id string, code int, err error, oom bool) error {
	return s.UpdateState(id, func(st *State) {
		st.Status, st.Pid, st.ExitCode, st.OOMKilled = StatusExited, 0, code, oom
		st.FinishedAt = time.Now().UTC()
		if err != nil {
			st.ExitCode, st.Error = 125, err.Error()
		}
	})
}
