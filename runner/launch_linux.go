package runner

import (
	"fmt"
	"reflect"
	"slices"
)

// launched is an init Launch started, with what it was started for.
type launched struct {
	p   *proc
	key launchKey
}

// launchKey is what of a Spec an init is started with, before its config.
type launchKey struct {
	stdin          any
	stdout, stderr any
	tty            bool
	allDevices     bool
	deviceCgroup   string
	devices        []Device
	cgroups        []string
	atClone        bool
	clone          uintptr
}

func keyOf(spec *Spec) launchKey {
	return launchKey{stdin: spec.Stdin, stdout: spec.Stdout, stderr: spec.Stderr, tty: spec.Tty,
		allDevices: spec.AllDevices, deviceCgroup: spec.DeviceCgroup, devices: spec.Devices, cgroups: spec.Cgroups,
		atClone: spec.CgroupAtClone, clone: spec.cloneFlags()}
}

func (k launchKey) equal(o launchKey) bool {
	return same(k.stdin, o.stdin) && same(k.stdout, o.stdout) && same(k.stderr, o.stderr) && k.tty == o.tty &&
		k.allDevices == o.allDevices && k.deviceCgroup == o.deviceCgroup &&
		slices.Equal(k.devices, o.devices) && slices.Equal(k.cgroups, o.cgroups) && k.atClone == o.atClone && k.clone == o.clone
}

// same compares a and b as == does, but says false for values == would
// panic on (an io.Writer whose type holds a slice, say).
func same(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ta := reflect.TypeOf(a)
	return ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}

// Launch starts the init of the next Run ahead of it, from the fields of
// spec an init starts with: Stdin, Stdout, Stderr, Tty, the device rules
// (AllDevices, Devices, DeviceCgroup) and Cgroups. The rest (root
// filesystem, mounts, network namespace) may still be in the making: the
// init takes them with its config. A container's supervisor overlaps
// lade's second start (the init's Go runtime) with its network setup so.
// Run uses the init when its spec has the same such fields, else
// discards it and starts its own; Close discards one no Run took.
func (r *Runner) Launch(spec *Spec) error {
	p, err := r.launchFor(spec)
	if err != nil {
		return err
	}
	r.mu.Lock()
	old := r.launched
	r.launched = &launched{p: p, key: keyOf(spec)}
	r.mu.Unlock()
	if old != nil {
		old.p.discard()
	}
	return nil
}

// takeLaunched hands out the init Launch started, if it fits spec.
func (r *Runner) takeLaunched(spec *Spec) *proc {
	r.mu.Lock()
	l := r.launched
	r.launched = nil
	r.mu.Unlock()
	if l == nil {
		return nil
	}
	if !l.key.equal(keyOf(spec)) {
		l.p.discard()
		return nil
	}
	return l.p
}

// launchFor starts a fresh init for spec, in spec's device cgroup. On
// cgroup v2 the init is cloned into it, unless it is the caller's cgroup
// (limits), which the init joins once it has its spec, but with
// CgroupAtClone.
func (r *Runner) launchFor(spec *Spec) (*proc, error) {
	var dc *deviceCgroup
	if !spec.AllDevices && deviceCgroups() {
		var err error
		if dc, err = setupDeviceCgroup(spec.DeviceCgroup, deviceRules(spec.Devices), v2Cgroup(spec.Cgroups)); err != nil {
			return nil, fmt.Errorf("runner: %w", err)
		}
		dc.clone = dc.clone || spec.CgroupAtClone && dc.dir == v2Cgroup(spec.Cgroups)
	}
	p, err := r.launchInit(spec.Tty, false, spec.cloneFlags(), spec.Stdin, spec.Stdout, spec.Stderr, dc)
	if err != nil {
		_ = dc.remove()
		return nil, err
	}
	p.dc = dc
	return p, nil
}
