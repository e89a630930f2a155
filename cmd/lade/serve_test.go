package main

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

// serveClients are the docker CLIs the API is tested with: a current one
// and Debian's docker.io 20.10 (API 1.41).
var serveClients = []struct{ name, bin string }{{"current", "/usr/local/bin/docker"}, {"docker.io-20.10", testutil.DockerClient}}

// startServe runs lade serve over root on a socket of the test's, in
// this process, until the test ends, and returns the socket's path.
func startServe(t *testing.T, root string) string {
	t.Helper()
	sock, _ := startServeStop(t, root)
	return sock
}

// startServeStop is startServe that also returns a function that stops
// the server (and waits for it) before the test ends.
func startServeStop(t *testing.T, root string) (string, func()) {
	t.Helper()
	return startServeArgs(t, root)
}

// startServeArgs is startServeStop with more of serve's flags.
func startServeArgs(t *testing.T, root string, flags ...string) (string, func()) {
	t.Helper()
	sock, stop, _ := startServeLogged(t, root, flags...)
	return sock, stop
}

// startServeLogged is startServeArgs that also returns what lade serve
// writes to stderr (its --debug log).
func startServeLogged(t *testing.T, root string, flags ...string) (string, func(), *testutil.LockedBuffer) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "lade.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	errb := new(testutil.LockedBuffer)
	go func() {
		defer close(done)
		args := append([]string{"--root", root, "serve", "-H", "unix://" + sock}, flags...)
		Run(ctx, args, strings.NewReader(""), io.Discard, errb)
	}()
	stop := func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	if !testutil.WaitForFile(sock, 20*time.Second) {
		t.Fatalf("lade serve did not listen on %s:\n%s", sock, errb.String())
	}
	return sock, stop, errb
}

// dockerCLI runs a docker client against the socket and returns its
// stdout, failing the test when it fails.
func dockerCLI(t *testing.T, bin, sock string, args ...string) string {
	t.Helper()
	out, errOut, err := dockerTry(bin, sock, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", bin, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func dockerTry(bin, sock string, args ...string) (string, string, error) {
	return dockerStdin(bin, sock, "", args...)
}

// dockerStdin is dockerTry with stdin.
func dockerStdin(bin, sock, stdin string, args ...string) (string, string, error) {
	home, _ := os.MkdirTemp("", "docker-home-")
	defer os.RemoveAll(home)
	return dockerHome(bin, sock, home, stdin, args...)
}

// dockerHome is dockerStdin with home as the client's home and config
// directory, which keeps docker login's credentials between commands.
func dockerHome(bin, sock, home, stdin string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	// DOCKER_BUILDKIT=0: docker build uses the classic builder's endpoint.
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+sock, "HOME="+home, "DOCKER_CONFIG="+home, "DOCKER_BUILDKIT=0")
	var out, errb strings.Builder
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// requireClient stops the test when bin is missing (a failure under CI).
func requireClient(t *testing.T, bin string) {
	t.Helper()
	if _, err := os.Stat(bin); err != nil {
		testutil.Unavailable(t, "%s missing: scripts/test.sh installs the docker clients", bin)
	}
}

// socketClient is an HTTP client that reaches the API on sock.
func socketClient(sock string) *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
}

// TestServeProtocol: versions, headers and error bodies as dockerd's.
func TestServeProtocol(t *testing.T) {
	sock := startServe(t, newRoot(t))
	hc := socketClient(sock)
	tests := []struct {
		method, path string
		status       int
		message      string // in the error body; "" for none
	}{
		{"GET", "/_ping", 200, ""},
		{"HEAD", "/_ping", 200, ""},
		{"GET", "/v1.41/version", 200, ""},
		{"GET", "/v1.57/images/json", 200, ""},
		{"GET", "/v1.99/version", 400, "client version 1.99 is too new. Maximum supported API version is 1.57"},
		{"GET", "/v1.30/version", 400, "client version 1.30 is too old. Minimum supported API version is 1.41"},
		{"GET", "/v1.41/containers/nosuch/json", 404, "No such container: nosuch"},
		{"GET", "/images/nosuch:1/json", 404, "No such image: nosuch:1"},
		{"DELETE", "/images/nosuch", 404, "No such image: nosuch"},
		{"GET", "/volumes/nosuch", 404, "no such volume"},
		{"GET", "/networks/nosuch", 404, "No such network: nosuch"},
		{"POST", "/v1.41/containers/abc/attach", 404, "No such container: abc"},
		{"POST", "/session", 501, "does not implement POST /session"},
		{"GET", "/no/such/endpoint", 404, "page not found"},
		{"POST", "/containers/create", 400, "config cannot be empty"},
		{"GET", "/containers/nosuch/logs", 404, "No such container: nosuch"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, "http://lade"+tt.path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s = %d, want %d (%s)", tt.method, tt.path, resp.StatusCode, tt.status, body)
		}
		for _, h := range []string{"Api-Version", "Ostype", "Server", "Docker-Experimental"} {
			if resp.Header.Get(h) == "" {
				t.Errorf("%s %s: no %s header", tt.method, tt.path, h)
			}
		}
		if tt.message == "" {
			continue
		}
		var e struct{ Message string }
		if err := json.Unmarshal(body, &e); err != nil || !strings.Contains(e.Message, tt.message) {
			t.Errorf("%s %s: body %s, want a message with %q", tt.method, tt.path, body, tt.message)
		}
	}
}

// TestServeDockerCLI drives lade serve with both docker CLIs: pull from a
// loopback registry, images, run -d, ps, logs, stop, rm, volumes and
// networks; the CLI and the API see each other's containers.
func TestServeDockerCLI(t *testing.T) {
	root := newRoot(t)
	reg := testutil.Registry(t, nil)
	ref := reg + "/lade/busybox:api"
	for _, args := range [][]string{{"tag", "busybox", ref}, {"push", ref}, {"rmi", ref}} {
		if r := lade(t, root, "", args...); r.code != 0 {
			t.Fatalf("lade %v: %s", args, r.stderr)
		}
	}
	sock := startServe(t, root)
	for i, cl := range serveClients {
		bin := cl.bin
		t.Run(cl.name, func(t *testing.T) {
			requireClient(t, bin)
			if v := dockerCLI(t, bin, sock, "version", "--format", "{{.Server.APIVersion}} {{.Server.MinAPIVersion}}"); v != "1.57 1.41\n" {
				t.Errorf("docker version: %q", v)
			}
			out := dockerCLI(t, bin, sock, "pull", ref)
			if !strings.Contains(out, "Status: ") {
				t.Errorf("docker pull printed %q", out)
			}
			if out := dockerCLI(t, bin, sock, "images", "--format", "{{.Repository}}:{{.Tag}}"); !strings.Contains(out, ref) {
				t.Errorf("docker images: %q lacks %s", out, ref)
			}
			serveContainers(t, bin, sock, root, ref, i)
			serveLifecycle(t, bin, sock, i)
			serveImages(t, bin, sock, root, reg, i)
			servePrune(t, bin, sock, root)
			serveVolumesNetworks(t, bin, sock, root, i)
		})
	}
}

// serveContainers: a container the API runs is the CLI's, and back.
func serveContainers(t *testing.T, bin, sock, root, ref string, i int) {
	name := "api" + string(rune('a'+i))
	id := strings.TrimSpace(dockerCLI(t, bin, sock, "run", "-d", "--name", name, ref, "sh", "-c", "echo out; echo err >&2; exec sleep 60"))
	if len(id) != 64 {
		t.Fatalf("docker run -d printed %q", id)
	}
	if out := dockerCLI(t, bin, sock, "ps", "--format", "{{.Names}} {{.State}}"); !strings.Contains(out, name+" running") {
		t.Errorf("docker ps: %q", out)
	}
	if r := lade(t, root, "", "ps", "--format", "{{.ID}}"); !strings.Contains(r.stdout, id[:12]) {
		t.Errorf("lade ps does not list the API's container: %q", r.stdout)
	}
	testutil.Poll(t, "the container's output", func() bool {
		out, errOut, _ := dockerTry(bin, sock, "logs", name)
		return out == "out\n" && errOut == "err\n"
	})
	if out, errOut, _ := dockerTry(bin, sock, "logs", "--until", "2000-01-01T00:00:00Z", name); out+errOut != "" {
		t.Errorf("docker logs --until 2000: %q %q", out, errOut)
	}
	// With a terminal the log is one raw stream, not frames.
	tty := dockerCLI(t, bin, sock, "run", "-d", "-t", ref, "echo", "tty")
	testutil.Poll(t, "the terminal's output", func() bool {
		out, _, _ := dockerTry(bin, sock, "logs", strings.TrimSpace(tty))
		return out == "tty\r\n"
	})
	dockerCLI(t, bin, sock, "rm", "-f", strings.TrimSpace(tty))
	dockerCLI(t, bin, sock, "stop", "-t", "1", name)
	if st := dockerCLI(t, bin, sock, "inspect", "-f", "{{.State.Status}}", name); st != "exited\n" {
		t.Errorf("after docker stop: %q", st)
	}
	dockerCLI(t, bin, sock, "rm", name)
	if r := lade(t, root, "", "ps", "-a", "--format", "{{.ID}}"); strings.Contains(r.stdout, id[:12]) {
		t.Errorf("lade ps -a still lists the removed container")
	}
	cli := "cli" + name
	if r := lade(t, root, "", "run", "-d", "--name", cli, "busybox", "sleep", "60"); r.code != 0 {
		t.Fatalf("lade run -d: %s", r.stderr)
	}
	if out := dockerCLI(t, bin, sock, "ps", "--filter", "name="+cli, "--format", "{{.Names}}"); out != cli+"\n" {
		t.Errorf("docker ps --filter name=%s: %q", cli, out)
	}
	dockerCLI(t, bin, sock, "rm", "-f", cli)
	if r := lade(t, root, "", "ps", "-a", "--format", "{{.Names}}"); strings.Contains(r.stdout, cli) {
		t.Errorf("lade ps -a lists %s after docker rm -f", cli)
	}
}

// serveVolumesNetworks: volume and network create, ls and rm.
func serveVolumesNetworks(t *testing.T, bin, sock, root string, i int) {
	vol, net := "vol"+string(rune('a'+i)), "net"+string(rune('a'+i))
	dockerCLI(t, bin, sock, "volume", "create", vol)
	if out := dockerCLI(t, bin, sock, "volume", "ls", "--format", "{{.Name}}"); !strings.Contains(out, vol) {
		t.Errorf("docker volume ls: %q", out)
	}
	if r := lade(t, root, "", "volume", "ls", "-q"); !strings.Contains(r.stdout, vol) {
		t.Errorf("lade volume ls: %q", r.stdout)
	}
	dockerCLI(t, bin, sock, "volume", "rm", vol)
	dockerCLI(t, bin, sock, "network", "create", net)
	if out := dockerCLI(t, bin, sock, "network", "ls", "--format", "{{.Name}}"); !strings.Contains(out, net) {
		t.Errorf("docker network ls: %q", out)
	}
	if out := dockerCLI(t, bin, sock, "network", "inspect", "-f", "{{.Driver}}", net); out != "bridge\n" {
		t.Errorf("docker network inspect: %q", out)
	}
	dockerCLI(t, bin, sock, "network", "rm", net)
	if r := lade(t, root, "", "network", "ls", "--format", "{{.Name}}"); strings.Contains(r.stdout, net) {
		t.Errorf("lade network ls lists %s after docker network rm", net)
	}
}

// TestServeDockerPy: docker-py runs a container to its output.
func TestServeDockerPy(t *testing.T) {
	root := newRoot(t)
	sock := startServe(t, root)
	runDockerPy(t, sock, `
import docker, sys
c = docker.DockerClient(base_url="unix://" + sys.argv[1])
assert c.ping()
assert c.version()["ApiVersion"] == "1.57"
assert any("busybox:latest" in i.tags for i in c.images.list())
out = c.containers.run("busybox", "echo py", remove=True)
assert out == b"py\n", out
v = c.volumes.create("pyvol")
assert "pyvol" in [x.name for x in c.volumes.list()]
v.remove()
n = c.networks.create("pynet")
ctr = c.containers.run("busybox", "sh -c 'echo up; exec sleep 60'", detach=True, name="pyctr")
assert [x.name for x in c.containers.list()] == ["pyctr"]
n.connect(ctr, aliases=["alias"])
n.reload()
assert [x.name for x in n.containers] == ["pyctr"], n.attrs
n.disconnect(ctr)
ctr.stop(timeout=1)
assert ctr.wait()["StatusCode"] == 137
assert ctr.logs() == b"up\n"
ctr.remove()
assert c.networks.prune()["NetworksDeleted"] == ["pynet"]
print("ok")
`)
}

// runDockerPy runs a docker-py script, given the socket as argv[1], that
// prints ok.
func runDockerPy(t *testing.T, sock, script string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err == nil {
		err = exec.Command(py, "-c", "import docker").Run()
	}
	if err != nil {
		testutil.Unavailable(t, "python3-docker missing: scripts/test.sh installs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", script, sock).CombinedOutput()
	if err != nil || string(out) != "ok\n" {
		t.Fatalf("docker-py: %v\n%s", err, out)
	}
}

// serveLifecycle: create, start, kill, restart, wait and rm -f.
func serveLifecycle(t *testing.T, bin, sock string, i int) {
	name := "life" + string(rune('a'+i))
	dockerCLI(t, bin, sock, "create", "--name", name, "busybox", "sh", "-c", "echo started; exec sleep 60")
	if st := dockerCLI(t, bin, sock, "inspect", "-f", "{{.State.Status}}", name); st != "created\n" {
		t.Errorf("after docker create: %q", st)
	}
	dockerCLI(t, bin, sock, "start", name)
	dockerCLI(t, bin, sock, "kill", name)
	if st := dockerCLI(t, bin, sock, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name); st != "exited 137\n" {
		t.Errorf("after docker kill: %q", st)
	}
	if _, errOut, err := dockerTry(bin, sock, "kill", name); err == nil || !strings.Contains(errOut, "is not running") {
		t.Errorf("docker kill of a stopped container: %v %q", err, errOut)
	}
	dockerCLI(t, bin, sock, "restart", "-t", "1", name)
	if st := dockerCLI(t, bin, sock, "inspect", "-f", "{{.State.Running}}", name); st != "true\n" {
		t.Errorf("after docker restart: %q", st)
	}
	dockerCLI(t, bin, sock, "pause", name)
	if st := dockerCLI(t, bin, sock, "inspect", "-f", "{{.State.Status}}", name); st != "paused\n" {
		t.Errorf("after docker pause: %q", st)
	}
	if _, errOut, err := dockerTry(bin, sock, "pause", name); err == nil || !strings.Contains(errOut, "already paused") {
		t.Errorf("docker pause of a paused container: %v %q", err, errOut)
	}
	dockerCLI(t, bin, sock, "unpause", name)
	dockerCLI(t, bin, sock, "rename", name, name+"2")
	name += "2"
	if st := dockerCLI(t, bin, sock, "inspect", "-f", "{{.Name}} {{.State.Status}}", name); st != "/"+name+" running\n" {
		t.Errorf("after docker unpause and rename: %q", st)
	}
	if _, errOut, err := dockerTry(bin, sock, "rm", name); err == nil || !strings.Contains(errOut, "stop the container before removing") {
		t.Errorf("docker rm of a running container: %v %q", err, errOut)
	}
	done := make(chan string, 1)
	go func() { out, _, _ := dockerTry(bin, sock, "wait", name); done <- out }()
	dockerCLI(t, bin, sock, "kill", "-s", "TERM", name)
	dockerCLI(t, bin, sock, "kill", name) // sh as pid 1 ignores TERM
	if code := <-done; code != "137\n" {
		t.Errorf("docker wait printed %q, want 137", code)
	}
	dockerCLI(t, bin, sock, "rm", "-f", name)
	serveFilesystem(t, bin, sock, i)
}

// serveFilesystem: top and stats of a container, diff and export of its
// files.
func serveFilesystem(t *testing.T, bin, sock string, i int) {
	name := "fs" + string(rune('a'+i))
	dockerCLI(t, bin, sock, "run", "-d", "--name", name, "busybox", "sh", "-c", "echo x > /made; exec sleep 60")
	testutil.Poll(t, "docker diff listing /made", func() bool {
		out, _, _ := dockerTry(bin, sock, "diff", name)
		return strings.Contains(out, "A /made\n")
	})
	if out := dockerCLI(t, bin, sock, "top", name); !strings.Contains(out, "sleep 60") {
		t.Errorf("docker top: %q", out)
	}
	if out := dockerCLI(t, bin, sock, "stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", name); out != name+" 1\n" {
		t.Errorf("docker stats --no-stream: %q", out)
	}
	archive := filepath.Join(t.TempDir(), "export.tar")
	dockerCLI(t, bin, sock, "export", "-o", archive, name)
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found := false
	for tr := tar.NewReader(f); ; {
		h, err := tr.Next()
		if err != nil {
			break
		}
		found = found || strings.TrimPrefix(h.Name, "./") == "made"
	}
	if !found {
		t.Errorf("docker export's tar has no /made")
	}
	dockerCLI(t, bin, sock, "rm", "-f", name)
}

// serveImages: tag, inspect, history, save, load, push and rmi.
func serveImages(t *testing.T, bin, sock, root, reg string, i int) {
	tag := reg + "/lade/pushed:" + string(rune('a'+i))
	dockerCLI(t, bin, sock, "tag", "busybox", tag)
	id := dockerCLI(t, bin, sock, "image", "inspect", "-f", "{{.Id}}", tag)
	if want := dockerCLI(t, bin, sock, "image", "inspect", "-f", "{{.Id}}", "busybox"); id != want {
		t.Errorf("tag's image %q, busybox's %q", id, want)
	}
	if out := dockerCLI(t, bin, sock, "history", "-q", tag); !strings.HasPrefix(id, "sha256:"+strings.TrimSpace(out)) {
		t.Errorf("docker history -q: %q, image %q", out, id)
	}
	out := dockerCLI(t, bin, sock, "push", tag)
	if !strings.Contains(out, "digest: sha256:") {
		t.Errorf("docker push printed %q", out)
	}
	archive := filepath.Join(t.TempDir(), "save.tar")
	dockerCLI(t, bin, sock, "save", "-o", archive, tag)
	if out := dockerCLI(t, bin, sock, "rmi", tag); !strings.Contains(out, "Untagged: ") {
		t.Errorf("docker rmi printed %q", out)
	}
	if r := lade(t, root, "", "images", "-q", tag); r.stdout != "" {
		t.Errorf("lade images lists %s after docker rmi: %q", tag, r.stdout)
	}
	if out := dockerCLI(t, bin, sock, "load", "-i", archive); !strings.Contains(out, "Loaded image: "+tag) {
		t.Errorf("docker load printed %q", out)
	}
	if r := lade(t, root, "", "pull", tag); r.code != 0 {
		t.Errorf("lade pull of what docker pushed: %s", r.stderr)
	}
	tarball := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(tarball, testutil.TarDir(t, testutil.BusyboxRootfs(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	imported := "imported:" + string(rune('a'+i))
	dockerCLI(t, bin, sock, "import", "-c", `CMD ["/bin/sh"]`, "-m", "from the API", tarball, imported)
	if out := dockerCLI(t, bin, sock, "image", "inspect", "-f", "{{.Config.Cmd}}", imported); out != "[/bin/sh]\n" {
		t.Errorf("docker import -c: Cmd %q", out)
	}
}

// TestServeParallel: clients at once, as compose starts services; no
// request waits for another's. The containers outlive the server.
func TestServeParallel(t *testing.T) {
	bin := serveClients[0].bin
	requireClient(t, bin)
	root := newRoot(t)
	sock, stop := startServeStop(t, root)
	const n = 10
	errs := make(chan error, n)
	for i := range n {
		go func() {
			out, errOut, err := dockerTry(bin, sock, "run", "-d", "--name", "par"+string(rune('a'+i)), "busybox", "sleep", "60")
			if err != nil {
				err = fmt.Errorf("docker run -d: %v: %s%s", err, out, errOut)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	out := dockerCLI(t, bin, sock, "ps", "-q")
	if got := len(strings.Fields(out)); got != n {
		t.Errorf("docker ps lists %d containers, want %d:\n%s\nlade ps -a:\n%s", got, n, out, lade(t, root, "", "ps", "-a").stdout)
	}
	stop()
	r := lade(t, root, "", "ps", "-q")
	if got := len(strings.Fields(r.stdout)); got != n {
		t.Errorf("after lade serve stopped, lade ps lists %d containers, want %d", got, n)
	}
	if r := lade(t, root, "", append([]string{"rm", "-f"}, strings.Fields(r.stdout)...)...); r.code != 0 {
		t.Errorf("lade rm -f: %s", r.stderr)
	}
}

// servePrune: info, and container and volume prune of what the CLI left.
func servePrune(t *testing.T, bin, sock, root string) {
	if out := dockerCLI(t, bin, sock, "info", "--format", "{{.Driver}}"); strings.TrimSpace(out) == "" {
		t.Errorf("docker info names no storage driver")
	}
	r := lade(t, root, "", "run", "busybox", "true")
	if r.code != 0 {
		t.Fatalf("lade run: %s", r.stderr)
	}
	id := lade(t, root, "", "ps", "-lq").stdout
	if out := dockerCLI(t, bin, sock, "container", "prune", "-f"); !strings.Contains(out, strings.TrimSpace(id)) {
		t.Errorf("docker container prune printed %q, want %s", out, id)
	}
	if r := lade(t, root, "", "ps", "-aq"); r.stdout != "" {
		t.Errorf("lade ps -a after docker container prune: %q", r.stdout)
	}
	dockerCLI(t, bin, sock, "volume", "create", "prunable")
	dockerCLI(t, bin, sock, "volume", "prune", "-f", "--filter", "all=true")
	if r := lade(t, root, "", "volume", "ls", "-q"); strings.Contains(r.stdout, "prunable") {
		t.Errorf("lade volume ls after docker volume prune: %q", r.stdout)
	}
}

// apiDo sends a JSON request to the API at version 1.41 and returns the
// answer, failing the test on an error status.
func apiDo(t *testing.T, hc *http.Client, method, path, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, "http://lade/v1.41"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, b)
	}
	return resp
}

// TestServeWaitRemoved: wait with condition=removed answers once the
// container is gone, with its exit code.
func TestServeWaitRemoved(t *testing.T) {
	hc := socketClient(startServe(t, newRoot(t)))
	do := func(method, path, body string) *http.Response {
		t.Helper()
		return apiDo(t, hc, method, path, body)
	}
	waitCode := func(resp *http.Response) int {
		t.Helper()
		defer resp.Body.Close()
		var res struct{ StatusCode int }
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			t.Fatal(err)
		}
		return res.StatusCode
	}
	for _, autoRemove := range []bool{false, true} {
		body := fmt.Sprintf(`{"Image":"busybox","Cmd":["sh","-c","exit 3"],"HostConfig":{"AutoRemove":%v}}`, autoRemove)
		var created struct {
			ID string `json:"Id"`
		}
		resp := do("POST", "/containers/create", body)
		if err := json.NewDecoder(resp.Body).Decode(&created); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := created.ID
		// The status line comes at once: the wait is in place before start.
		removed := do("POST", "/containers/"+id+"/wait?condition=removed", "")
		do("POST", "/containers/"+id+"/start", "").Body.Close()
		if !autoRemove {
			if code := waitCode(do("POST", "/containers/"+id+"/wait", "")); code != 3 {
				t.Errorf("wait: StatusCode %d, want 3", code)
			}
			do("DELETE", "/containers/"+id, "").Body.Close()
		}
		code := waitCode(removed)
		if !autoRemove && code != 3 {
			t.Errorf("wait condition=removed: StatusCode %d, want 3", code)
		}
		gone, err := hc.Get("http://lade/containers/" + id + "/json")
		if err != nil {
			t.Fatal(err)
		}
		gone.Body.Close()
		if gone.StatusCode != http.StatusNotFound {
			t.Errorf("auto-remove %v: inspect after the wait for removal: %d, want 404", autoRemove, gone.StatusCode)
		}
	}
}
