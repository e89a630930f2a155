package container

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// detachedExec is what exec -d's helper runs: ExecOptions without stdio.
type detachedExec struct {
	Args       []string `json:"args"`
	Env        []string `json:"env,omitempty"`
	Cwd        string   `json:"cwd,omitempty"`
	User       string   `json:"user,omitempty"`
	Privileged bool     `json:"privileged,omitempty"`
}

// ExecDetached starts o's command in running container c under a lade of
// its own (docker exec -d) and returns once it runs, or with the error
// that kept it from starting. Its output is dropped, as docker's is.
func (s *Store) ExecDetached(ctx context.Context, c *Container, o ExecOptions) error {
	if !s.supervised(c.ID) {
		return fmt.Errorf("container %s is not running", c.ID[:12])
	}
	spec, err := json.Marshal(detachedExec{Args: o.Args, Env: o.Env, Cwd: o.Cwd, User: o.User, Privileged: o.Privileged})
	if err != nil {
		return err
	}
	logPath := filepath.Join(s.Dir(c.ID), "exec.log")
	lf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("starting exec: %w", err)
	}
	defer lf.Close()
	cmd := exec.Command("/proc/self/exe", "container-exec", "--root", s.root, c.ID, string(spec))
	var exited func(*os.ProcessState)
	if o.Exited != nil {
		exited = func(ps *os.ProcessState) { o.Exited(ps.ExitCode()) }
	}
	return startReporting(ctx, cmd, lf, logPath, "exec in "+c.ID[:12], "the command started", exited)
}

// execMain runs exec -d's command in container id and exits with its
// status.
func execMain(root, id, spec string) int {
	ready := detachedReporter()
	code, err := func() (int, error) {
		var d detachedExec
		if err := json.Unmarshal([]byte(spec), &d); err != nil {
			return -1, err
		}
		s, err := Open(root)
		if err != nil {
			return -1, err
		}
		c, err := s.Get(id)
		if err != nil {
			return -1, err
		}
		o := ExecOptions{Args: d.Args, Env: d.Env, Cwd: d.Cwd, User: d.User, Privileged: d.Privileged, Started: ready}
		return s.Exec(context.Background(), c, o)
	}()
	ready(err)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return code
}
