package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// runDetached starts a container with -d and removes it at the end.
func runDetached(t *testing.T, root string, args ...string) string {
	t.Helper()
	r := lade(t, root, "", append([]string{"run", "-d"}, args...)...)
	if r.code != 0 {
		t.Fatalf("run -d: %+v", r)
	}
	id := strings.TrimSpace(r.stdout)
	if len(id) != 64 {
		t.Fatalf("run -d printed %q, want an ID", r.stdout)
	}
	t.Cleanup(func() { lade(t, root, "", "rm", "-f", id) })
	return id
}

// inspected is what the tests read of docker's container inspect record.
type inspected struct {
	Name         string
	RestartCount int
	State        struct {
		Status   string
		Pid      int
		ExitCode int
		Health   *struct{ Status string }
	}
	NetworkSettings struct {
		Ports    map[string]any
		Networks map[string]*struct{ IPAddress string }
	}
}

func inspectContainer(t *testing.T, root, ref string) inspected {
	t.Helper()
	r := lade(t, root, "", "container", "inspect", ref)
	var out []inspected
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
		t.Fatalf("inspect %s: %v %+v", ref, err, r)
	}
	return out[0]
}

func TestDetachedLogsStop(t *testing.T) {
	root := newRoot(t)
	id := runDetached(t, root, "--name", "talker", "busybox", "sh", "-c", "echo out1; echo err1 >&2; echo out2; exec sleep 300")
	testutil.Poll(t, "output in the log", func() bool {
		return lade(t, root, "", "logs", "talker").stdout == "out1\nout2\n"
	})
	// stdout and stderr are separate pipes, so err1 may be logged last.
	r := lade(t, root, "", "logs", "--tail", "1", "talker")
	if got := r.stdout + r.stderr; got != "out2\n" && got != "err1\n" {
		t.Errorf("logs --tail 1: %+v", r)
	}
	if r := lade(t, root, "", "logs", id[:8]); r.stderr != "err1\n" {
		t.Errorf("stderr in logs: %q", r.stderr)
	}
	if r := lade(t, root, "", "ps"); !strings.Contains(r.stdout, "talker") || !strings.Contains(r.stdout, "Up ") {
		t.Errorf("ps: %s", r.stdout)
	}
	// exec joins the container: same pid namespace, pid 1 is sleep.
	r = lade(t, root, "", "exec", "talker", "sh", "-c", "cat /proc/1/comm; hostname")
	if r.code != 0 || r.stdout != "sleep\n"+id[:12]+"\n" {
		t.Errorf("exec: %+v", r)
	}
	if r := lade(t, root, "", "exec", "talker", "sh", "-c", "exit 5"); r.code != 5 {
		t.Errorf("exec exit code %d, want 5", r.code)
	}
	// A follower ends when the container stops.
	follow := make(chan result, 1)
	go func() { follow <- lade(t, root, "", "logs", "-f", "talker") }()
	// sleep as pid 1 ignores SIGTERM, so stop falls back to SIGKILL.
	if r := lade(t, root, "", "stop", "-t", "1", "talker"); r.code != 0 {
		t.Fatalf("stop: %+v", r)
	}
	st := inspectContainer(t, root, "talker")
	if st.State.Status != "exited" || st.State.ExitCode != 137 {
		t.Errorf("after stop: %+v", st.State)
	}
	if f := <-follow; f.stdout != "out1\nout2\n" {
		t.Errorf("logs -f: %+v", f)
	}
	if r := lade(t, root, "", "ps"); strings.Contains(r.stdout, "talker") {
		t.Errorf("ps lists a stopped container: %s", r.stdout)
	}
	if r := lade(t, root, "", "ps", "-a"); !strings.Contains(r.stdout, "Exited (137)") {
		t.Errorf("ps -a: %s", r.stdout)
	}
	// start runs it again; wait reports the exit code after kill.
	if r := lade(t, root, "", "start", "talker"); r.code != 0 {
		t.Fatalf("start: %+v", r)
	}
	if st := inspectContainer(t, root, "talker"); st.State.Status != "running" {
		t.Fatalf("after start: %+v", st.State)
	}
	if r := lade(t, root, "", "rm", "talker"); r.code == 0 {
		t.Error("rm of a running container succeeded")
	}
	// pid 1 without handlers only dies of SIGKILL, kill's default.
	if r := lade(t, root, "", "kill", "talker"); r.code != 0 {
		t.Fatalf("kill: %+v", r)
	}
	if r := lade(t, root, "", "wait", "talker"); r.stdout != "137\n" {
		t.Errorf("wait after kill: %+v", r)
	}
	if r := lade(t, root, "", "rm", "talker"); r.code != 0 {
		t.Errorf("rm: %+v", r)
	}
	if r := lade(t, root, "", "ps", "-aq"); r.stdout != "" {
		t.Errorf("ps -aq after rm: %q", r.stdout)
	}
}

func TestRestartOnFailure(t *testing.T) {
	root := newRoot(t)
	runDetached(t, root, "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo run; exit 3")
	if r := lade(t, root, "", "wait", "flaky"); r.stdout != "3\n" {
		t.Fatalf("wait: %+v", r)
	}
	st := inspectContainer(t, root, "flaky")
	if st.RestartCount != 2 {
		t.Errorf("restart count %d, want 2", st.RestartCount)
	}
	if r := lade(t, root, "", "logs", "flaky"); r.stdout != "run\nrun\nrun\n" {
		t.Errorf("logs: %q, want three runs", r.stdout)
	}
}

func TestPublishHTTP(t *testing.T) {
	root := newRoot(t)
	port := freePort(t)
	runDetached(t, root, "--name", "web", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), "busybox", "sh", "-c",
		"mkdir /www && echo hello-from-busybox > /www/index.html && exec httpd -f -p 8080 -h /www")
	url := fmt.Sprintf("http://127.0.0.1:%d/index.html", port)
	var body string
	testutil.Poll(t, "httpd answering through the proxy", func() bool {
		var ok bool
		body, ok = httpGet(url)
		return ok
	})
	if body != "hello-from-busybox\n" {
		t.Errorf("body %q", body)
	}
	// The container has its own network namespace: httpd is not on the
	// host's loopback at 8080 unless something else is.
	if r := lade(t, root, "", "ps"); !strings.Contains(r.stdout, fmt.Sprintf("127.0.0.1:%d->8080/tcp", port)) {
		t.Errorf("ps ports: %s", r.stdout)
	}
}

func TestHealthcheckUnhealthy(t *testing.T) {
	root := newRoot(t)
	runDetached(t, root, "--name", "sick", "--health-cmd", "test -e /healthy", "--health-interval", "100ms",
		"--health-retries", "2", "busybox", "sh", "-c", "touch /healthy; sleep 1; rm /healthy; exec sleep 300")
	seen := map[string]bool{}
	testutil.Poll(t, "health to turn unhealthy", func() bool {
		h := inspectContainer(t, root, "sick").State.Health
		if h != nil {
			seen[h.Status] = true
		}
		return h != nil && h.Status == "unhealthy"
	})
	if !seen["healthy"] {
		t.Errorf("never healthy before unhealthy: %v", seen)
	}
	if r := lade(t, root, "", "ps"); !strings.Contains(r.stdout, "(unhealthy)") {
		t.Errorf("ps: %s", r.stdout)
	}
}

func TestRunNameConflict(t *testing.T) {
	root := newRoot(t)
	runDetached(t, root, "--name", "one", "busybox", "sleep", "300")
	if r := lade(t, root, "", "run", "--name", "one", "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "already in use") {
		t.Errorf("duplicate name: %+v", r)
	}
}

// TestPublishFreePort: -p CONTAINER-PORT and -P publish on ports the
// kernel picks; port, ps and inspect name them while the container is up,
// and they are gone once it stopped.
func TestPublishFreePort(t *testing.T) {
	root := newRoot(t)
	ctx := writeTree(t, map[string]string{"Dockerfile": "FROM busybox\nEXPOSE 8080 9090/udp\n" +
		"RUN mkdir /www && echo free-port > /www/index.html\n"})
	if r := lade(t, root, "", "build", "-t", "web:1", ctx); r.code != 0 {
		t.Fatalf("build: %s", r.stderr)
	}
	id := runDetached(t, root, "-p", "127.0.0.1::8080", "-P", "web:1", "httpd", "-f", "-p", "8080", "-h", "/www")
	var addr string
	testutil.Poll(t, "the chosen port in lade port", func() bool {
		r := lade(t, root, "", "port", id, "8080")
		addr = strings.TrimSpace(r.stdout)
		return r.code == 0 && addr != ""
	})
	if !regexp.MustCompile(`^127\.0\.0\.1:[1-9][0-9]*$`).MatchString(addr) {
		t.Fatalf("port 8080: %q", addr)
	}
	testutil.Poll(t, "httpd on the chosen port", func() bool {
		body, _ := httpGet("http://" + addr + "/index.html")
		return body == "free-port\n"
	})
	// -P added 9090/udp on a port of its own (on IPv6 too where the host
	// has it, as docker lists it); 8080 was published by -p.
	all := lade(t, root, "", "port", id).stdout
	if !regexp.MustCompile(`^8080/tcp -> ` + regexp.QuoteMeta(addr) + `\n9090/udp -> 0\.0\.0\.0:([1-9][0-9]*)\n(9090/udp -> \[::\]:[1-9][0-9]*\n)?$`).MatchString(all) {
		t.Fatalf("port: %q", all)
	}
	if ps := lade(t, root, "", "ps").stdout; !strings.Contains(ps, addr+"->8080/tcp") {
		t.Errorf("ps does not show the chosen port: %s", ps)
	}
	if r := lade(t, root, "", "port", id, "7/tcp"); r.code == 0 || !strings.Contains(r.stderr, "no public port '7/tcp'") {
		t.Errorf("port of an unpublished port: %+v", r)
	}
	if r := lade(t, root, "", "stop", "-t", "1", id); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := lade(t, root, "", "port", id); r.code != 0 || r.stdout != "" {
		t.Errorf("port of a stopped container: %+v", r)
	}
	if st := inspectContainer(t, root, id); len(st.NetworkSettings.Ports) != 0 {
		t.Errorf("stopped container still lists bound ports: %+v", st.NetworkSettings.Ports)
	}
}

// freeRun holds n consecutive free loopback TCP ports: the first stays
// listened on (taken) and the rest are released for the caller.
func freeRun(t *testing.T, n int) (int, net.Listener) {
	t.Helper()
	for try := 0; try < 50; try++ {
		first, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := first.Addr().(*net.TCPAddr).Port
		ok := base+n-1 <= 65535
		for i := 1; i < n && ok; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return base, first
		}
		first.Close()
	}
	t.Fatal("no run of free ports")
	return 0, nil
}

// TestPublishRanges: a host range for one container port takes its first
// free port; equal ranges pair up port by port.
func TestPublishRanges(t *testing.T) {
	root := newRoot(t)
	base, taken := freeRun(t, 5)
	defer taken.Close() // base itself is busy: the range must skip it
	id := runDetached(t, root, "-p", fmt.Sprintf("127.0.0.1:%d-%d:8080", base, base+2),
		"-p", fmt.Sprintf("127.0.0.1:%d-%d:9000-9001/udp", base+3, base+4), "busybox", "sh", "-c",
		"mkdir /www && echo ranged > /www/index.html && exec httpd -f -p 8080 -h /www")
	var addr string
	testutil.Poll(t, "the ranged port in lade port", func() bool {
		r := lade(t, root, "", "port", id, "8080")
		addr = strings.TrimSpace(r.stdout)
		return r.code == 0 && addr != ""
	})
	if want := fmt.Sprintf("127.0.0.1:%d", base+1); addr != want {
		t.Fatalf("8080 published on %s, want %s (the first free port of the range)", addr, want)
	}
	testutil.Poll(t, "httpd on the ranged port", func() bool {
		body, _ := httpGet("http://" + addr + "/index.html")
		return body == "ranged\n"
	})
	all := lade(t, root, "", "port", id).stdout
	for _, want := range []string{fmt.Sprintf("9000/udp -> 127.0.0.1:%d", base+3), fmt.Sprintf("9001/udp -> 127.0.0.1:%d", base+4)} {
		if !strings.Contains(all, want) {
			t.Errorf("port: %q, want a line %q", all, want)
		}
	}
	// A range with no free port fails the start with a clear error.
	if r := lade(t, root, "", "run", "--rm", "-p", fmt.Sprintf("127.0.0.1:%d-%d:80", base, base+1), "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "no port of the range is free") {
		t.Errorf("run on a busy range: %+v", r)
	}
}

// httpGet is url's body, and whether it answered 200 OK.
func httpGet(url string) (string, bool) {
	resp, err := http.Get(url)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode == http.StatusOK
}
