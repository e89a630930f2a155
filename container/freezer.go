package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// addFreezer gives the cgroup a directory pause can freeze: the v2 one
// (every non-root v2 cgroup has cgroup.freeze), else one in v1's freezer
// hierarchy. Without either, pause is refused; the container still runs.
func (c *cgroup) addFreezer(id, unified string) {
	if unified != "" {
		d := filepath.Join(unified, "lade", id)
		if os.MkdirAll(d, 0o755) == nil {
			c.add(d)
			if _, err := os.Stat(filepath.Join(d, "cgroup.freeze")); err == nil {
				return
			}
		}
	}
	base := filepath.Join(cgroupRoot, "freezer")
	if _, err := os.Stat(filepath.Join(base, "cgroup.procs")); err != nil {
		return
	}
	d := filepath.Join(base, "lade", id)
	if os.MkdirAll(d, 0o755) == nil {
		c.add(d)
	}
}

// freezer finds container id's freezable cgroup: its directory, the file
// that freezes it, the values for frozen and thawed, and the file (and
// line) that tells it is done.
type freezer struct {
	dir, file, frozen, thawed, done string
}

func findFreezer(id string) (freezer, error) {
	if u := unifiedDir(); u != "" {
		d := filepath.Join(u, "lade", id)
		if _, err := os.Stat(filepath.Join(d, "cgroup.freeze")); err == nil {
			return freezer{dir: d, file: "cgroup.freeze", frozen: "1", thawed: "0", done: "cgroup.events"}, nil
		}
	}
	d := filepath.Join(cgroupRoot, "freezer", "lade", id)
	if _, err := os.Stat(filepath.Join(d, "freezer.state")); err == nil {
		return freezer{dir: d, file: "freezer.state", frozen: "FROZEN", thawed: "THAWED", done: "freezer.state"}, nil
	}
	return freezer{}, fmt.Errorf("container %s has no freezer cgroup (rootless, or no cgroup freezer on this host)", id[:12])
}

// set freezes or thaws the cgroup and waits (at most 10s) until the
// kernel says every process is.
func (f freezer) set(frozen bool) error {
	v := f.thawed
	if frozen {
		v = f.frozen
	}
	if err := os.WriteFile(filepath.Join(f.dir, f.file), []byte(v), 0o644); err != nil {
		return fmt.Errorf("freezer: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !f.is(frozen) {
		if time.Now().After(deadline) {
			return errors.New("freezer: the cgroup's processes did not change state within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// is reports whether the cgroup is (entirely) frozen, or thawed.
func (f freezer) is(frozen bool) bool {
	data, err := os.ReadFile(filepath.Join(f.dir, f.done))
	if err != nil {
		return false
	}
	if f.done == "freezer.state" {
		st := strings.TrimSpace(string(data))
		return st == f.frozen == frozen && st != "FREEZING"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "frozen "); ok {
			return (strings.TrimSpace(v) == "1") == frozen
		}
	}
	return false
}

// pids lists the cgroup's processes.
func (f freezer) pids() []int {
	data, err := os.ReadFile(filepath.Join(f.dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var out []int
	for _, l := range strings.Fields(string(data)) {
		if p, err := strconv.Atoi(l); err == nil {
			out = append(out, p)
		}
	}
	return out
}
