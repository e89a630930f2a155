package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestServeRunInteractive: docker run -it on a real terminal, through
// lade serve: the shell's prompt, what is typed, the terminal's size as
// the client sets it, and the exit status.
func TestServeRunInteractive(t *testing.T) {
	sock := startServe(t, newRoot(t))
	for _, cl := range serveClients {
		t.Run(cl.name, func(t *testing.T) {
			requireClient(t, cl.bin)
			tt := newTestTerminal(t, 31, 97)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			home := t.TempDir()
			cmd := exec.CommandContext(ctx, cl.bin, "run", "-it", "--rm", "busybox", "sh")
			cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+sock, "HOME="+home, "DOCKER_CONFIG="+home)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = tt.slave, tt.slave, tt.slave
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			tt.waitFor(t, "# ")
			tt.typeLine(t, "echo $((6*7)) sum; stty size")
			tt.waitFor(t, "42 sum")
			tt.waitFor(t, "31 97")
			tt.typeLine(t, "exit 5")
			var ee *exec.ExitError
			if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 5 {
				t.Fatalf("docker run -it: %v, want exit status 5; the terminal had:\n%s", err, tt.out.String())
			}
		})
	}
}

// typeLine types a line and Enter on the terminal.
func (tt *testTerminal) typeLine(t *testing.T, line string) {
	t.Helper()
	if _, err := tt.master.Write([]byte(line + "\r")); err != nil {
		t.Fatal(err)
	}
}
