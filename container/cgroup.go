package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lade-build/lade/internal/userns"
	"github.com/lade-build/lade/runner"
)

// cgroupRoot is where cgroupfs is mounted; a variable for tests.
var cgroupRoot = "/sys/fs/cgroup"

// cgroup is a container's cgroup: one directory per hierarchy in use.
// Each controller comes from cgroup v2 when the unified hierarchy offers
// it, else from its v1 hierarchy (hybrid hosts).
type cgroup struct {
	dirs   []string
	memDir string // where memory.events or memory.oom_control lives
	memV2  bool
}

// unifiedDir returns the cgroup2 mount: /sys/fs/cgroup on pure v2 hosts,
// /sys/fs/cgroup/unified on hybrid ones.
func unifiedDir() string { return runner.UnifiedCgroupDir(cgroupRoot) }

// v2Controllers lists what the unified root can delegate.
func v2Controllers(u string) map[string]bool {
	out := map[string]bool{}
	if u == "" {
		return out
	}
	data, err := os.ReadFile(filepath.Join(u, "cgroup.controllers"))
	if err != nil {
		return out
	}
	for _, c := range strings.Fields(string(data)) {
		out[c] = true
	}
	return out
}

// want is a controller's limit files: in cgroup v2 and in its v1
// hierarchy v1Dir.
type want struct {
	ctrl  string
	v2    [][2]string // file, value
	v1    [][2]string
	v1Dir string
	// needs, when set, is a v1 file without which the host cannot
	// enforce the limit (blkio.weight needs the BFQ or CFQ scheduler).
	needs string
}

// memoryWants are --memory and --memory-swap's files: no swap unless
// MemorySwap (memory plus swap, -1 unlimited) allows it.
func memoryWants(r Resources) []want {
	if r.Memory <= 0 {
		return nil
	}
	m := strconv.FormatInt(r.Memory, 10)
	swap, memsw := "0", m
	switch {
	case r.MemorySwap < 0:
		swap, memsw = "max", "-1"
	case r.MemorySwap > r.Memory:
		swap, memsw = strconv.FormatInt(r.MemorySwap-r.Memory, 10), strconv.FormatInt(r.MemorySwap, 10)
	}
	// v1 wants memsw >= limit at every step: memsw first for a raise
	// (the write fails, and is skipped, for a cut), then again after.
	return []want{{ctrl: "memory",
		v2: [][2]string{{"memory.max", m}, {"memory.swap.max", swap}},
		v1: [][2]string{{"memory.memsw.limit_in_bytes", memsw}, {"memory.limit_in_bytes", m}, {"memory.memsw.limit_in_bytes", memsw}}, v1Dir: "memory"}}
}

// setupCgroup creates the cgroup of container id with r's limits, warning
// on w about limits no controller can enforce. Run as root, it always has
// one that pause can freeze. Called again for a running container, it
// changes the limits (update).
func setupCgroup(id string, r Resources, w io.Writer) (*cgroup, error) {
	wants := resourceWants(r)
	cg := &cgroup{}
	u := unifiedDir()
	if !userns.Rootless() {
		cg.addFreezer(id, u)
	}
	avail := v2Controllers(u)
	v2Dir := ""
	for _, wt := range wants {
		if avail[wt.ctrl] {
			if v2Dir == "" {
				v2Dir = filepath.Join(u, "lade", id)
				if err := os.MkdirAll(v2Dir, 0o755); err != nil {
					return nil, fmt.Errorf("creating cgroup %s: %w", v2Dir, err)
				}
				cg.add(v2Dir)
			}
			// Delegate the controller down to the container's cgroup.
			for _, d := range []string{u, filepath.Join(u, "lade")} {
				_ = os.WriteFile(filepath.Join(d, "cgroup.subtree_control"), []byte("+"+wt.ctrl), 0o644)
			}
			if err := writeFiles(v2Dir, wt.v2); err == nil {
				if wt.ctrl == "memory" {
					cg.memDir, cg.memV2 = v2Dir, true
				}
				continue
			}
		}
		base := filepath.Join(cgroupRoot, wt.v1Dir)
		if _, err := os.Stat(filepath.Join(base, "cgroup.procs")); err != nil {
			fmt.Fprintf(w, "WARNING: the %s cgroup controller is not available (neither cgroup v2 nor v1): %s limit not applied\n", wt.ctrl, wt.ctrl)
			continue
		}
		if _, err := os.Stat(filepath.Join(base, wt.needs)); wt.needs != "" && err != nil {
			fmt.Fprintf(w, "WARNING: this kernel does not support %s (no %s): limit not applied\n", wt.ctrl, wt.needs)
			continue
		}
		dir := filepath.Join(base, "lade", id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating cgroup %s: %w", dir, err)
		}
		cg.add(dir)
		if wt.v1Dir == "cpuset" {
			inheritCpuset(base, dir)
		}
		if err := writeFiles(dir, wt.v1); err != nil {
			cg.remove()
			return nil, err
		}
		if wt.ctrl == "memory" {
			cg.memDir = dir
		}
	}
	return cg, nil
}

// resourceWants are the limit files r sets.
func resourceWants(r Resources) []want {
	wants := append(memoryWants(r), limitWants(r)...)
	if r.PidsLimit > 0 {
		p := strconv.FormatInt(r.PidsLimit, 10)
		wants = append(wants, want{ctrl: "pids", v2: [][2]string{{"pids.max", p}},
			v1: [][2]string{{"pids.max", p}}, v1Dir: "pids"})
	}
	if r.CPUs > 0 {
		quota := strconv.FormatInt(int64(r.CPUs*100000), 10)
		wants = append(wants, want{ctrl: "cpu", v2: [][2]string{{"cpu.max", quota + " 100000"}},
			v1: [][2]string{{"cpu.cfs_period_us", "100000"}, {"cpu.cfs_quota_us", quota}}, v1Dir: "cpu"})
	}
	if r.CPUShares > 0 {
		// cgroup v2's weight from v1's shares, as runc maps them.
		weight := strconv.FormatInt(1+((r.CPUShares-2)*9999)/262142, 10)
		wants = append(wants, want{ctrl: "cpu", v2: [][2]string{{"cpu.weight", weight}},
			v1: [][2]string{{"cpu.shares", strconv.FormatInt(r.CPUShares, 10)}}, v1Dir: "cpu"})
	}
	return wants
}

// add adds dir to the cgroup's directories, once.
func (c *cgroup) add(dir string) {
	if !slices.Contains(c.dirs, dir) {
		c.dirs = append(c.dirs, dir)
	}
}

// writeFiles writes limit files; a missing optional file (swap
// accounting) is skipped.
func writeFiles(dir string, files [][2]string) error {
	for _, f := range files {
		p := filepath.Join(dir, f[0])
		err := os.WriteFile(p, []byte(f[1]), 0o644)
		if err != nil && strings.Contains(f[0], "swap") || err != nil && strings.Contains(f[0], "memsw") {
			continue
		}
		if err != nil {
			return fmt.Errorf("setting %s: %w", p, err)
		}
	}
	return nil
}

// paths lists the cgroup's directories, one per hierarchy.
func (c *cgroup) paths() []string {
	if c == nil {
		return nil
	}
	return c.dirs
}

// oomKills reads how many processes the OOM killer took from the cgroup.
func (c *cgroup) oomKills() int {
	if c == nil || c.memDir == "" {
		return 0
	}
	file := "memory.oom_control"
	if c.memV2 {
		file = "memory.events"
	}
	data, err := os.ReadFile(filepath.Join(c.memDir, file))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// remove deletes the cgroup dirs once their processes are gone.
func (c *cgroup) remove() error {
	if c == nil {
		return nil
	}
	var errs []error
	for _, d := range c.dirs {
		var err error
		for i := range 50 {
			if err = os.Remove(d); err == nil || errors.Is(err, os.ErrNotExist) {
				err = nil
				break
			}
			time.Sleep(time.Duration(i+1) * 2 * time.Millisecond)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("removing cgroup: %w", err))
		}
	}
	return errors.Join(errs...)
}

// joinCgroups puts pid into container id's cgroups, wherever they exist
// (used for exec). With thread set, pid is the thread about to fork the
// command and only v1 hierarchies are joined, through their per-thread
// tasks file; otherwise only the v2 one (which takes whole processes).
func joinCgroups(id string, pid int, thread bool) error {
	u := unifiedDir()
	for _, d := range cgroupDirs(id) {
		if _, err := os.Stat(filepath.Join(d, "cgroup.procs")); err != nil {
			continue
		}
		// The device rules are runner's (ExecSpec.DeviceCgroup).
		if strings.HasPrefix(d, filepath.Join(cgroupRoot, "devices")+"/") {
			continue
		}
		v2 := u != "" && strings.HasPrefix(d, u+"/")
		file := "cgroup.procs"
		if thread {
			file = "tasks"
		}
		if v2 == thread {
			continue
		}
		if err := os.WriteFile(filepath.Join(d, file), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return fmt.Errorf("joining cgroup %s: %w", d, err)
		}
	}
	return nil
}

// placeExec puts what spec starts in container c's cgroups: its forking
// thread joins the v1 ones (so the command starts in them), and it is
// cloned into the v2 one (or, where that fails, moved into it right after
// it started). Its device rules are c's (runner places it for them).
func placeExec(spec *runner.ExecSpec, c *Config) {
	id := c.ID
	spec.AllDevices, spec.Devices, spec.DeviceCgroup = c.Privileged, c.Devices, "lade/"+id
	spec.Prepare = func(tid int) error { return joinCgroups(id, tid, true) }
	spec.Started = func(pid int) error { return joinCgroups(id, pid, false) }
	if u := unifiedDir(); u != "" {
		if d := filepath.Join(u, "lade", id); isDir(d) {
			spec.Cgroup = d
		}
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// inheritCpuset fills the empty cpuset.cpus and cpuset.mems of the v1
// cpuset cgroups from base down to dir from their parents': a v1 cpuset
// cgroup takes no process until both are set.
func inheritCpuset(base, dir string) {
	rel, err := filepath.Rel(base, dir)
	if err != nil {
		return
	}
	parent := base
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		d := filepath.Join(parent, part)
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			cur, _ := os.ReadFile(filepath.Join(d, f))
			if strings.TrimSpace(string(cur)) != "" {
				continue
			}
			if v, err := os.ReadFile(filepath.Join(parent, f)); err == nil {
				_ = os.WriteFile(filepath.Join(d, f), v, 0o644)
			}
		}
		parent = d
	}
}
