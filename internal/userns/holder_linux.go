package userns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/internal/atomicfile"
	"github.com/lade-build/lade/internal/flock"
)

// RuntimeDir is where lade keeps a user's runtime files:
// $XDG_RUNTIME_DIR/lade, else a dir of the user's own under the temp dir.
func RuntimeDir() (string, error) {
	d := os.Getenv("XDG_RUNTIME_DIR")
	if d != "" {
		d = filepath.Join(d, "lade")
	} else {
		d = filepath.Join(os.TempDir(), fmt.Sprintf("lade-%d", os.Getuid()))
	}
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", fmt.Errorf("runtime dir: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(d, &st); err != nil {
		return "", fmt.Errorf("runtime dir: %w", err)
	}
	// In a shared temp dir another user could have made it first.
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Getuid() || st.Mode&0o077 != 0 {
		return "", fmt.Errorf("runtime dir %s is not a private dir of uid %d", d, os.Getuid())
	}
	return d, nil
}

// HolderPidFile is the file naming the holder of the user's namespaces.
func HolderPidFile() (string, error) {
	d, err := RuntimeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "userns.pid"), nil
}

// holder returns the pid of the process holding the user's namespaces,
// starting one if none is alive. A lock keeps concurrent first commands
// from starting two.
func holder(m idMaps) (int, error) {
	pidFile, err := HolderPidFile()
	if err != nil {
		return 0, err
	}
	pid := 0
	err = flock.With(context.Background(), pidFile+".lock", unix.LOCK_EX, func() error {
		if pid = liveHolder(pidFile); pid != 0 {
			return nil
		}
		cmd := exec.Command("/proc/self/exe")
		cmd.Args[0] = "lade-userns"
		cmd.Dir = "/"
		// Its own session: no terminal's signals reach it.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := startMapped(cmd, stageHold, m); err != nil {
			return err
		}
		pid = cmd.Process.Pid
		start, err := startTime(pid)
		if err != nil {
			return err
		}
		_ = cmd.Process.Release()
		// Whole or not at all: a half-written record reads as no holder,
		// and a second holder would leave the first one's containers out
		// of reach.
		return atomicfile.WriteFile(pidFile, []byte(fmt.Sprintf("%d %s\n", pid, start)), atomicfile.Options{Perm: 0o600})
	})
	return pid, err
}

// liveHolder returns the pid recorded in pidFile if that process still
// runs (same start time, so not a reused pid), else 0.
func liveHolder(pidFile string) int {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) != 2 {
		return 0
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return 0
	}
	if start, err := startTime(pid); err != nil || start != f[1] {
		return 0
	}
	// A holder that was killed but not yet reaped has no namespaces.
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err != nil {
		return 0
	}
	return pid
}

// startTime is field 22 of /proc/PID/stat, the process's start time.
func startTime(pid int) (string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return "", errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return "", errors.New("malformed /proc stat")
	}
	return f[19], nil
}
