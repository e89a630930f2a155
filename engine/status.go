package engine

import (
	"fmt"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/lade-build/lade/container"
)

// Status is docker's state of a container: lade's status, where a
// container that exited without ever starting is still "created" and a
// frozen one is "paused".
func Status(st *container.State) ctypes.ContainerState {
	if st.Paused && st.Status == container.StatusRunning {
		return ctypes.StatePaused
	}
	if st.Status == container.StatusExited && st.StartedAt.IsZero() {
		return ctypes.StateCreated
	}
	if st.Status == "" {
		return ctypes.StateCreated
	}
	return ctypes.ContainerState(st.Status)
}

// StatusText is docker ps's STATUS: "Up 5 minutes (healthy)", "Exited
// (0) 2 hours ago", "Created".
func StatusText(st *container.State) string {
	switch Status(st) {
	case ctypes.StateRunning:
		s := "Up " + ago(st.StartedAt)
		if h := st.Health; h != nil {
			switch h.Status {
			case "starting":
				s += " (health: starting)"
			default:
				s += " (" + h.Status + ")"
			}
		}
		return s
	case ctypes.StatePaused:
		return "Up " + ago(st.StartedAt) + " (Paused)"
	case ctypes.StateRestarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, ago(st.FinishedAt))
	case ctypes.StateExited:
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, ago(st.FinishedAt))
	}
	return "Created"
}
