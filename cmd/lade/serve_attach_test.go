package main

import (
	"errors"
	"os/exec"
	"testing"
)

// TestServeAttach: docker run without -d attaches before it starts the
// container, prints its output and exits with its status.
func TestServeAttach(t *testing.T) {
	sock := startServe(t, newRoot(t))
	tests := []struct {
		name, stdin string
		args        []string
		out, errOut string
		code        int
	}{
		{name: "echo", args: []string{"run", "--rm", "busybox", "echo", "hi"}, out: "hi\n"},
		{name: "streams and status", args: []string{"run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"},
			out: "out\n", errOut: "err\n", code: 3},
		{name: "kept", args: []string{"run", "busybox", "echo", "kept"}, out: "kept\n"},
		{name: "terminal", args: []string{"run", "--rm", "-t", "busybox", "echo", "tty"}, out: "tty\r\n"},
		{name: "stdin", stdin: "line one\nline two\n", args: []string{"run", "--rm", "-i", "busybox", "head", "-n1"},
			out: "line one\n"},
	}
	for _, cl := range serveClients {
		t.Run(cl.name, func(t *testing.T) {
			requireClient(t, cl.bin)
			for _, tt := range tests {
				out, errOut, err := dockerStdin(cl.bin, sock, tt.stdin, tt.args...)
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				if out != tt.out || errOut != tt.errOut || code != tt.code {
					t.Errorf("%s: docker %v = %q %q exit %d, want %q %q exit %d", tt.name, tt.args, out, errOut, code, tt.out, tt.errOut, tt.code)
				}
			}
		})
	}
}
