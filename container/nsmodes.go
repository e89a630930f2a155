package container

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/runner"
)

// applyNamespaceModes checks and records --pid, --ipc, --uts,
// --domainname and --oom-score-adj.
func applyNamespaceModes(c *Config, o *CreateOptions) error {
	for _, m := range []struct {
		flag, v string
		dst     *string
		private string // docker's other name for the default
	}{{"--pid", o.PidMode, &c.PidMode, ""}, {"--ipc", o.IpcMode, &c.IpcMode, "private"}, {"--uts", o.UTSMode, &c.UTSMode, ""}} {
		switch m.v {
		case "", m.private:
		case "host":
			*m.dst = "host"
		default:
			return fmt.Errorf("invalid %s %q: lade supports only host and the default", m.flag, m.v)
		}
	}
	if c.UTSMode == "host" {
		if o.Hostname != "" || o.Domainname != "" {
			return errors.New("conflicting options: hostname/domainname and the UTS mode")
		}
		// /etc/hostname and $HOSTNAME say the host's name, as docker's.
		h, err := os.Hostname()
		if err != nil {
			return err
		}
		c.Hostname = h
	}
	if o.OOMScoreAdj < -1000 || o.OOMScoreAdj > 1000 {
		return fmt.Errorf("invalid value %d, range for oom score adj is [-1000, 1000]", o.OOMScoreAdj)
	}
	c.Domainname, c.OOMScoreAdj = o.Domainname, o.OOMScoreAdj
	return nil
}

// namespaceSpec puts c's namespace modes, domain name and OOM score
// into spec.
func namespaceSpec(spec *runner.Spec, c *Config) {
	spec.HostPID, spec.HostIPC, spec.HostUTS = c.PidMode == "host", c.IpcMode == "host", c.UTSMode == "host"
	spec.Domainname = c.Domainname
	if c.OOMScoreAdj != 0 {
		n := c.OOMScoreAdj
		spec.OOMScoreAdj = &n
	}
}

// killWithInit, for a container in the host's PID namespace, kills what
// is left in its cgroup once its init (host pid p) exits, as runc does:
// no PID namespace takes them down with it, and they would hold its
// output open.
func killWithInit(id string, p int) {
	fd, err := unix.PidfdOpen(p, 0)
	if err != nil {
		return
	}
	go func() {
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for range 1000 {
			if _, err := unix.Poll(fds, -1); err != unix.EINTR {
				break
			}
		}
		f, err := findFreezer(id)
		if err != nil {
			return
		}
		for range 50 {
			pids := f.pids()
			if len(pids) == 0 {
				return
			}
			for _, q := range pids {
				_ = unix.Kill(q, unix.SIGKILL)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
}
