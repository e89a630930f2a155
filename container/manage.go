package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/events"
	"golang.org/x/sys/unix"

	ladeevents "github.com/lade-build/lade/events"
)

// event records action on container c in the root's event log, with
// docker's attributes (name, image, labels) and extra; a failure to
// record is not the action's.
func (s *Store) event(action events.Action, c *Config, extra map[string]string) {
	attrs := map[string]string{"name": c.Name, "image": c.Image}
	for k, v := range c.Labels {
		attrs[k] = v
	}
	for k, v := range extra {
		attrs[k] = v
	}
	_ = ladeevents.Record(s.root, events.ContainerEventType, action, c.ID, attrs)
}

// volumeEvent records action on volume name.
func (s *Store) volumeEvent(action events.Action, name string) {
	_ = ladeevents.Record(s.root, events.VolumeEventType, action, name, map[string]string{"driver": "local"})
}

// Event records action on container id (attach, exec_start: ...) for a
// caller outside this package.
func (s *Store) Event(action events.Action, id string, extra map[string]string) {
	if c, err := s.load(id); err == nil {
		s.event(action, &c.Config, extra)
	}
}

// Rename gives container ref the name newName, which no other container
// may have.
func (s *Store) Rename(ref, newName string) error {
	if !nameRE.MatchString(newName) {
		return fmt.Errorf("invalid container name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", newName)
	}
	unlock, err := lockFile(filepath.Join(s.dir, ".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	c, err := s.Get(ref)
	if err != nil {
		return err
	}
	if other, err := s.Get(newName); err == nil && other.Name == newName {
		if other.ID == c.ID {
			return errors.New("renaming a container with the same name as its current name")
		}
		return fmt.Errorf("the container name %q is already in use by container %s", newName, other.ID[:12])
	}
	old := c.Name
	c.Name = newName
	if err := s.SaveConfig(&c.Config); err != nil {
		return err
	}
	s.event(events.ActionRename, &c.Config, map[string]string{"oldName": "/" + old})
	return nil
}

// Restart stops container c (as Stop, within timeout) and starts it
// again under a shim.
func (s *Store) Restart(ctx context.Context, c *Container, timeout time.Duration) error {
	if err := s.Stop(ctx, c, timeout); err != nil {
		return err
	}
	if err := s.StartShim(ctx, c.ID, ""); err != nil {
		return err
	}
	s.event(events.ActionRestart, &c.Config, nil)
	return nil
}

// Pause freezes every process of running container ref (cgroup freezer).
func (s *Store) Pause(ref string) error { return s.setPaused(ref, true) }

// Unpause thaws a paused container.
func (s *Store) Unpause(ref string) error { return s.setPaused(ref, false) }

func (s *Store) setPaused(ref string, paused bool) error {
	c, err := s.Get(ref)
	if err != nil {
		return err
	}
	if c.State.Status != StatusRunning || !s.supervised(c.ID) {
		return fmt.Errorf("container %s is not running", c.ID[:12])
	}
	if c.State.Paused == paused {
		if paused {
			return fmt.Errorf("container %s is already paused", c.ID[:12])
		}
		return fmt.Errorf("container %s is not paused", c.ID[:12])
	}
	f, err := findFreezer(c.ID)
	if err != nil {
		return err
	}
	if err := f.set(paused); err != nil {
		return err
	}
	if err := s.UpdateState(c.ID, func(st *State) { st.Paused = paused }); err != nil {
		return err
	}
	action := events.ActionUnPause
	if paused {
		action = events.ActionPause
	}
	s.event(action, &c.Config, nil)
	return nil
}

// thaw unpauses container id if it is paused, so that a signal sent to
// it can end it (stop, kill, rm -f).
func (s *Store) thaw(id string) {
	st, err := s.loadState(id)
	if err != nil || !st.Paused {
		return
	}
	if f, err := findFreezer(id); err == nil && f.set(false) == nil {
		_ = s.UpdateState(id, func(st *State) { st.Paused = false })
	}
}

// UpdateOptions are docker update's flags; nil or "" leaves a setting as
// it is.
type UpdateOptions struct {
	Memory, MemorySwap string
	CPUs               *float64
	CPUShares          *int64
	PidsLimit          *int64
	Restart            *string
	CPUPeriod          *int64
	CPUQuota           *int64
	CpusetCpus         *string
	CpusetMems         *string
	MemoryReservation  string
	BlkioWeight        *uint16
}

// Update changes container ref's limits and restart policy: in its
// stored config, so the next start keeps them, and, while it runs, in
// its live cgroup. Warnings go to w.
func (s *Store) Update(ctx context.Context, ref string, o UpdateOptions, w io.Writer) error {
	c, err := s.Get(ref)
	if err != nil {
		return err
	}
	if err := o.apply(&c.Config); err != nil {
		return err
	}
	if err := rootlessLimits(c.Resources); err != nil {
		return err
	}
	if s.supervised(c.ID) {
		if err := applyLive(c.ID, c.Resources, w); err != nil {
			return err
		}
	}
	if err := s.SaveConfig(&c.Config); err != nil {
		return err
	}
	s.event(events.ActionUpdate, &c.Config, nil)
	return nil
}

// apply lays o over c's settings, checked as run checks them.
func (o UpdateOptions) apply(c *Config) error {
	r := c.Resources
	var err error
	if o.Memory != "" {
		if r.Memory, err = memoryFlag("--memory", o.Memory); err != nil {
			return err
		}
	}
	if o.MemorySwap != "" {
		if r.MemorySwap, err = memoryFlag("--memory-swap", o.MemorySwap); err != nil {
			return err
		}
	}
	if o.CPUs != nil {
		r.CPUs = *o.CPUs
	}
	if o.CPUShares != nil {
		r.CPUShares = *o.CPUShares
	}
	if o.PidsLimit != nil {
		r.PidsLimit = max(*o.PidsLimit, 0)
	}
	if err := o.applyLimits(&r); err != nil {
		return err
	}
	if err := checkLimits(r); err != nil {
		return err
	}
	if err := checkSwap(r); err != nil {
		return err
	}
	if o.Restart != nil {
		p, err := ParseRestart(*o.Restart)
		if err != nil {
			return err
		}
		if p.Name != "no" && c.AutoRemove {
			return errors.New("restart policy cannot be updated because AutoRemove is enabled for the container")
		}
		c.Restart = p
	}
	c.Resources = r
	return nil
}

// applyLimits lays the LimitOptions update takes over r.
func (o UpdateOptions) applyLimits(r *Resources) error {
	setIf(&r.CPUPeriod, o.CPUPeriod)
	setIf(&r.CPUQuota, o.CPUQuota)
	setIf(&r.CpusetCpus, o.CpusetCpus)
	setIf(&r.CpusetMems, o.CpusetMems)
	setIf(&r.BlkioWeight, o.BlkioWeight)
	if o.MemoryReservation != "" {
		var err error
		if r.MemoryReservation, err = reservationFlag(o.MemoryReservation); err != nil {
			return err
		}
	}
	return nil
}

// setIf sets *dst to *v unless v is nil.
func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// applyLive writes r into running container id's cgroups, moving its
// processes into hierarchies it was not in yet (a first memory limit on
// a v1 host). A limit taken away (pids -1) is lifted to the maximum.
func applyLive(id string, r Resources, w io.Writer) error {
	f, err := findFreezer(id)
	if err != nil {
		return err
	}
	cg, err := setupCgroup(id, r, w)
	if err != nil {
		return err
	}
	if r.PidsLimit == 0 {
		liftPids(cg)
	}
	pids := f.pids()
	for _, d := range cg.paths() {
		for _, p := range pids {
			err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(p)), 0o644)
			if err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("moving the container's processes into %s: %w", d, err)
			}
		}
	}
	return nil
}

// liftPids sets pids.max to max wherever the cgroup has one.
func liftPids(cg *cgroup) {
	for _, d := range cg.paths() {
		_ = os.WriteFile(filepath.Join(d, "pids.max"), []byte("max"), 0o644)
	}
}
