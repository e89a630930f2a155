package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	dockercontainer "github.com/moby/moby/api/types/container"
)

// Processes lists the host pids of running container c's processes:
// those in its pid namespace (exec'd ones too), found through /proc, or
// with --pid host those in its cgroup.
func (s *Store) Processes(c *Container) ([]int, error) {
	st, err := s.loadState(c.ID)
	if err != nil {
		return nil, err
	}
	if !s.supervised(c.ID) || st.Pid == 0 {
		return nil, fmt.Errorf("container %s is not running", c.ID[:12])
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", st.Pid))
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.ID[:12], err)
	}
	self, _ := os.Readlink("/proc/self/ns/pid")
	if ns == self {
		// In the host's pid namespace (--pid host): its cgroup's.
		if f, err := findFreezer(c.ID); err == nil {
			if pids := f.pids(); len(pids) > 0 {
				return pids, nil
			}
		}
		return []int{st.Pid}, nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && l == ns {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// Top runs the host's ps with psArgs (docker's default -ef) and keeps
// the rows of c's processes, as docker top and the Engine API's top do.
func (s *Store) Top(ctx context.Context, c *Container, psArgs []string) (dockercontainer.TopResponse, error) {
	var top dockercontainer.TopResponse
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	pids, err := s.Processes(c)
	if err != nil {
		return top, err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ps", psArgs...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return top, fmt.Errorf("running ps: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return parsePS(string(out), pids)
}

// parsePS keeps the rows of ps output whose PID is one of pids; the last
// column (the command) may hold spaces.
func parsePS(out string, pids []int) (dockercontainer.TopResponse, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	top := dockercontainer.TopResponse{Titles: strings.Fields(lines[0]), Processes: [][]string{}}
	col := slices.Index(top.Titles, "PID")
	if col < 0 {
		return top, errors.New("couldn't find PID field in ps output")
	}
	for _, line := range lines[1:] {
		fields := strings.Fields(line)
		if len(fields) <= col {
			continue
		}
		pid, err := strconv.Atoi(fields[col])
		if err != nil || !slices.Contains(pids, pid) {
			continue
		}
		if n := len(top.Titles); len(fields) > n {
			fields = append(fields[:n-1], strings.Join(fields[n-1:], " "))
		}
		top.Processes = append(top.Processes, fields)
	}
	return top, nil
}
