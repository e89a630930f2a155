package main

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// serveCase is one docker CLI command against lade serve and what it
// prints and exits with.
type serveCase struct {
	name, stdin string
	args        []string
	out, errOut string
	errHas      string // may be in errOut, instead of errOut
	outHas      string // in out, instead of out
	code        int
}

// runServeCases runs the cases with every docker client; setup, when
// set, runs first with each (a container the cases use).
func runServeCases(t *testing.T, sock string, setup func(t *testing.T, bin string), tests []serveCase) {
	for _, cl := range serveClients {
		t.Run(cl.name, func(t *testing.T) {
			requireClient(t, cl.bin)
			if setup != nil {
				setup(t, cl.bin)
			}
			for _, tt := range tests {
				out, errOut, err := dockerStdin(cl.bin, sock, tt.stdin, tt.args...)
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				if tt.errHas != "" && strings.Contains(errOut, tt.errHas) {
					errOut = tt.errOut
				}
				if tt.outHas != "" && strings.Contains(out, tt.outHas) {
					out = tt.out
				}
				if out != tt.out || errOut != tt.errOut || code != tt.code {
					t.Errorf("%s: docker %v = %q %q exit %d, want %q %q exit %d", tt.name, tt.args, out, errOut, code, tt.out, tt.errOut, tt.code)
				}
			}
		})
	}
}

// TestServeAttach: docker run without -d attaches before it starts the
// container, prints its output and exits with its status.
func TestServeAttach(t *testing.T) {
	sock := startServe(t, newRoot(t))
	runServeCases(t, sock, nil, []serveCase{
		{name: "echo", args: []string{"run", "--rm", "busybox", "echo", "hi"}, out: "hi\n"},
		{name: "streams and status", args: []string{"run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"},
			out: "out\n", errOut: "err\n", code: 3},
		{name: "kept", args: []string{"run", "busybox", "echo", "kept"}, out: "kept\n"},
		{name: "terminal", args: []string{"run", "--rm", "-t", "busybox", "echo", "tty"}, out: "tty\r\n"},
		{name: "stdin", stdin: "line one\nline two\n", args: []string{"run", "--rm", "-i", "busybox", "head", "-n1"},
			out: "line one\n"},
		// StdinOnce: the client's stdin ending ends the container's.
		{name: "stdin to its end", stdin: "x\ny\n", args: []string{"run", "--rm", "-i", "busybox", "cat"}, out: "x\ny\n"},
		{name: "empty stdin", args: []string{"run", "--rm", "-i", "busybox", "cat"}},
	})
}

// TestServeResize: resize sets a running container's terminal size,
// which its process then reads.
func TestServeResize(t *testing.T) {
	sock := startServe(t, newRoot(t))
	requireClient(t, serveClients[0].bin)
	bin := serveClients[0].bin
	id := strings.TrimSpace(dockerCLI(t, bin, sock, "run", "-d", "-t", "busybox", "sh", "-c", "for i in $(seq 600); do stty size; sleep 0.1; done"))
	t.Cleanup(func() { _, _, _ = dockerTry(bin, sock, "rm", "-f", id) })
	resp, err := socketClient(sock).Post("http://lade/containers/"+id+"/resize?h=33&w=77", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("resize: %s", resp.Status)
	}
	testutil.Poll(t, "the new size in the container", func() bool {
		out, _, _ := dockerTry(bin, sock, "logs", "--tail", "1", id)
		return out == "33 77\r\n"
	})
}

// TestServeExec: docker exec through the API, attached, with stdin, a
// terminal, and detached; docker update of the container.
func TestServeExec(t *testing.T) {
	sock := startServe(t, newRoot(t))
	setup := func(t *testing.T, bin string) {
		dockerCLI(t, bin, sock, "run", "-d", "--name", "ex", "busybox", "sleep", "60")
		t.Cleanup(func() { _, _, _ = dockerTry(bin, sock, "rm", "-f", "ex") })
	}
	runServeCases(t, sock, setup, []serveCase{
		{name: "ls", args: []string{"exec", "ex", "ls", "/bin/sh"}, out: "/bin/sh\n"},
		{name: "status", args: []string{"exec", "ex", "sh", "-c", "echo e >&2; exit 4"}, errOut: "e\n", code: 4},
		{name: "env and workdir", args: []string{"exec", "-e", "X=1", "-w", "/tmp", "ex", "sh", "-c", "echo $X; pwd"}, out: "1\n/tmp\n"},
		{name: "stdin", stdin: "abc\n", args: []string{"exec", "-i", "ex", "cat"}, out: "abc\n"},
		{name: "terminal", args: []string{"exec", "-t", "ex", "echo", "tty"}, out: "tty\r\n"},
		{name: "update", args: []string{"update", "--restart", "on-failure:2", "--pids-limit", "50", "ex"}, out: "ex\n"},
		{name: "updated", args: []string{"inspect", "-f", "{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.HostConfig.PidsLimit}}", "ex"},
			out: "on-failure 2 50\n"},
		{name: "detached", args: []string{"exec", "-d", "ex", "touch", "/tmp/detached"}},
		{name: "after detached", args: []string{"exec", "ex", "sh", "-c", "for i in $(seq 50); do test -e /tmp/detached && break; sleep 0.1; done; ls /tmp/detached"},
			out: "/tmp/detached\n"},
	})
}

// TestServeCopy: docker cp both ways through the archive endpoints, and
// docker commit of what was copied in.
func TestServeCopy(t *testing.T) {
	sock := startServe(t, newRoot(t))
	host := t.TempDir()
	if err := os.MkdirAll(filepath.Join(host, "dir", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, data := range map[string]string{"hello": "hi\n", "dir/sub/f": "deep\n"} {
		if err := os.WriteFile(filepath.Join(host, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	back := filepath.Join(host, "back")
	setup := func(t *testing.T, bin string) {
		os.RemoveAll(back)
		dockerCLI(t, bin, sock, "run", "-d", "--name", "cp", "busybox", "sleep", "60")
		t.Cleanup(func() { _, _, _ = dockerTry(bin, sock, "rm", "-f", "cp") })
	}
	runServeCases(t, sock, setup, []serveCase{
		{name: "file in", args: []string{"cp", filepath.Join(host, "hello"), "cp:/tmp/"}},
		{name: "dir in", args: []string{"cp", filepath.Join(host, "dir"), "cp:/tmp/dir2"}},
		{name: "read in", args: []string{"exec", "cp", "cat", "/tmp/hello", "/tmp/dir2/sub/f"}, out: "hi\ndeep\n"},
		{name: "dir out", args: []string{"cp", "cp:/tmp/dir2", back}},
		{name: "file out", args: []string{"cp", "cp:/tmp/hello", filepath.Join(back, "hello")}},
		{name: "round trip", args: []string{"cp", back, "cp:/tmp/back"}},
		{name: "read back", args: []string{"exec", "cp", "cat", "/tmp/back/hello", "/tmp/back/sub/f"}, out: "hi\ndeep\n"},
		{name: "missing", args: []string{"cp", "cp:/nosuch", back}, errHas: "/nosuch", code: 1},
		{name: "commit", args: []string{"commit", "-c", "ENV BY=api", "cp", "committed:api"}, outHas: "sha256:"},
		{name: "run committed", args: []string{"run", "--rm", "committed:api", "sh", "-c", "echo $BY; cat /tmp/hello"}, out: "api\nhi\n"},
	})
}

// TestServeBuild: docker build (the classic builder's endpoint) of a
// context, docker run of the result, then docker image prune of it.
func TestServeBuild(t *testing.T) {
	sock := startServe(t, newRoot(t))
	dir := t.TempDir()
	files := map[string]string{
		"Dockerfile": "FROM busybox\nARG WHO=nobody\nCOPY f /f\nRUN echo \"$WHO\" >> /f\nLABEL by=api\nCMD [\"cat\", \"/f\"]\n",
		"f":          "from the context\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runServeCases(t, sock, nil, []serveCase{
		// The current client warns that the legacy builder is deprecated.
		{name: "build", args: []string{"build", "-q", "-t", "built:api", "--build-arg", "WHO=api", dir}, outHas: "sha256:",
			errHas: "legacy builder is deprecated"},
		{name: "build output", args: []string{"build", "-t", "built:api2", dir}, outHas: "Successfully tagged built:api2",
			errHas: "legacy builder is deprecated"},
		{name: "run", args: []string{"run", "--rm", "built:api"}, out: "from the context\napi\n"},
		{name: "label", args: []string{"image", "inspect", "-f", "{{.Config.Labels.by}}", "built:api"}, out: "api\n"},
		{name: "prune", args: []string{"image", "prune", "-a", "-f", "--filter", "label=by=api"}, outHas: "deleted: sha256:"},
		{name: "pruned", args: []string{"images", "-q", "--filter", "label=by=api"}},
	})
}

// TestServeEvents: docker events shows what the root recorded, filtered
// and formatted by the client.
func TestServeEvents(t *testing.T) {
	for _, cl := range serveClients {
		t.Run(cl.name, func(t *testing.T) {
			requireClient(t, cl.bin)
			sock := startServe(t, newRoot(t)) // a root of its own: only its events
			dockerCLI(t, cl.bin, sock, "run", "--rm", "busybox", "true")
			// The clients send whole seconds: an until a second ahead (a
			// follow that long) takes in the events of this second.
			out := dockerCLI(t, cl.bin, sock, "events", "--since", "10m", "--until=-1s", "--filter", "type=container",
				"--filter", "event=start", "--filter", "event=destroy", "--format", "{{.Type}} {{.Action}}")
			if out != "container start\ncontainer destroy\n" {
				t.Errorf("docker events: %q", out)
			}
		})
	}
}

// TestServeDockerPyExec: docker-py's exec_run returns the exit code and
// output.
func TestServeDockerPyExec(t *testing.T) {
	sock := startServe(t, newRoot(t))
	runDockerPy(t, sock, `
import docker, sys
c = docker.DockerClient(base_url="unix://" + sys.argv[1])
ctr = c.containers.run("busybox", "sleep 60", detach=True)
r = ctr.exec_run("sh -c 'echo py; exit 5'")
assert r.exit_code == 5 and r.output == b"py\n", r
r = ctr.exec_run(["echo", "tty"], tty=True)
assert r.exit_code == 0 and r.output == b"tty\r\n", r
ctr.remove(force=True)
print("ok")
`)
}
