package container

import (
	"bytes"
	"context"
	"time"

	"github.com/lade-build/lade/runner"
	"github.com/lade-build/lade/runner/seccomp"
)

// healthDefaults are docker's.
const (
	defaultHealthInterval = 30 * time.Second
	// defaultHealthStartInterval is docker's probe interval in the start
	// period.
	defaultHealthStartInterval = 5 * time.Second
	defaultHealthTimeout       = 30 * time.Second
	defaultHealthRetries       = 3
	healthLogKeep              = 5
	healthOutputMax            = 4096
)

// runHealthcheck probes the container (init pid) until ctx ends.
func (s *Store) runHealthcheck(ctx context.Context, c *Config, pid int) {
	hc := c.Healthcheck
	if hc == nil || len(hc.Test) == 0 {
		return
	}
	var args []string
	switch hc.Test[0] {
	case "NONE":
		return
	case "CMD-SHELL":
		if len(hc.Test) < 2 {
			return
		}
		args = []string{"/bin/sh", "-c", hc.Test[1]}
	case "CMD":
		args = hc.Test[1:]
	default:
		args = hc.Test
	}
	if len(args) == 0 {
		return
	}
	interval, timeout, retries := hc.Interval, hc.Timeout, hc.Retries
	if interval <= 0 {
		interval = defaultHealthInterval
	}
	if timeout <= 0 {
		timeout = defaultHealthTimeout
	}
	if retries <= 0 {
		retries = defaultHealthRetries
	}
	startInterval := hc.StartInterval
	if startInterval <= 0 {
		startInterval = defaultHealthStartInterval
	}
	started, healthy := time.Now(), false
	for {
		wait := interval
		if !healthy && time.Since(started) < hc.StartPeriod {
			wait = startInterval // docker's --health-start-interval
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		res := s.probe(ctx, c, pid, args, timeout)
		if ctx.Err() != nil {
			return
		}
		healthy = healthy || res.ExitCode == 0
		inStart := time.Since(started) < hc.StartPeriod
		_ = s.UpdateState(c.ID, func(st *State) {
			if st.Pid != pid {
				return // a newer run owns the state
			}
			h := st.Health
			if h == nil {
				h = &Health{Status: "starting"}
				st.Health = h
			}
			h.Log = append(h.Log, res)
			if len(h.Log) > healthLogKeep {
				h.Log = h.Log[len(h.Log)-healthLogKeep:]
			}
			if res.ExitCode == 0 {
				h.Status, h.FailingStreak = "healthy", 0
				return
			}
			if inStart {
				return // failures in the start period do not count
			}
			h.FailingStreak++
			if h.FailingStreak >= retries {
				h.Status = "unhealthy"
			}
		})
	}
}

// limitedBuffer keeps the first healthOutputMax bytes.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := healthOutputMax - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (s *Store) probe(ctx context.Context, c *Config, pid int, args []string, timeout time.Duration) HealthResult {
	res := HealthResult{Start: time.Now().UTC()}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var out limitedBuffer
	filter, err := seccomp.ForContainer(c.Seccomp, c.Privileged)
	if err != nil {
		res.End, res.ExitCode, res.Output = time.Now().UTC(), -1, err.Error()
		return res
	}
	spec := &runner.ExecSpec{
		Args: args, Env: c.Env, Cwd: c.Cwd, UID: c.UID, GID: c.GID, AdditionalGIDs: c.AdditionalGIDs,
		Capabilities: c.Capabilities, NoNewPrivileges: c.NoNewPrivileges, Seccomp: filter,
		Stdout: &out, Stderr: &out,
	}
	placeExec(spec, c)
	code, err := runner.New().Exec(pctx, pid, spec)
	res.End = time.Now().UTC()
	switch {
	case pctx.Err() == context.DeadlineExceeded:
		res.ExitCode, res.Output = -1, "Health check exceeded timeout ("+timeout.String()+")"
	case err != nil:
		res.ExitCode, res.Output = -1, err.Error()
	default:
		res.ExitCode, res.Output = code, out.String()
	}
	return res
}
