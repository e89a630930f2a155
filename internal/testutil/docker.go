package testutil

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// DockerClient is the full docker client from Debian's docker.io (the one
// on PATH may be a bare client without an engine).
const DockerClient = "/usr/bin/docker"

func isStatic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// DockerTools returns the dockerd path of Debian's docker.io, with the
// full client at DockerClient, or stops the test as Unavailable.
func DockerTools(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(DockerClient); err != nil {
		Unavailable(t, "%s missing: apt-get install docker.io (scripts/test.sh does)", DockerClient)
	}
	for _, p := range []string{"/usr/bin/dockerd", "/usr/sbin/dockerd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Unavailable(t, "dockerd missing: apt-get install docker.io (scripts/test.sh does)")
	return ""
}

// Docker is what an interop test needs of docker: outside -short, a
// private engine (DockerEngine on DockerTools' dockerd); its DOCKER_HOST.
func Docker(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping docker interop test in short mode")
	}
	return DockerEngine(t, DockerTools(t))
}

// DockerEngine starts a private dockerd for this test, with its own socket
// and data root, and returns its DOCKER_HOST; the test stops it. A user's
// own engine is never used: tests load and delete images.
func DockerEngine(t testing.TB, dockerd string) string {
	t.Helper()
	// A short private dir: the socket path must fit sockaddr_un's 108 bytes,
	// and two packages' tests may each start an engine at the same time.
	root, err := os.MkdirTemp("", "lade-dockerd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	host := "unix://" + filepath.Join(root, "docker.sock")
	dataRoot := filepath.Join(root, "data")
	execRoot := filepath.Join(root, "exec")
	logPath := filepath.Join(root, "dockerd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(dockerd,
		"--iptables=false", "--bridge=none",
		"--host", host,
		"--data-root", dataRoot,
		"--exec-root", execRoot,
		"--pidfile", filepath.Join(root, "pid"),
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Its own process group, so a stray signal to ours does not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		Unavailable(t, "cannot start %s: %v", dockerd, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := RunDocker(host, 5*time.Second, "version"); err == nil {
			return host
		}
		select {
		case err := <-exited:
			exited <- err // let the cleanup see it has already exited
			Unavailable(t, "dockerd exited (%v) before answering; cannot run docker here. Log tail:\n%s", err, logTail(logPath))
		default:
		}
		if time.Now().After(deadline) {
			Unavailable(t, "dockerd did not answer on %s within 30s; cannot run docker here. Log tail:\n%s", host, logTail(logPath))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// RunDocker runs the docker client against host.
func RunDocker(host string, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, DockerClient, args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+host)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), fmt.Errorf("docker %s: %w", strings.Join(args, " "), err)
	}
	return stdout.String(), nil
}

// DockerLoadRun loads the archive into the engine at host, runs ref from
// it without a network and returns what it printed; the image is removed
// when the test ends.
func DockerLoadRun(t testing.TB, host, archive, ref string) string {
	t.Helper()
	if o, err := RunDocker(host, 2*time.Minute, "load", "-i", archive); err != nil {
		t.Fatalf("docker load: %v\n%s", err, o)
	}
	t.Cleanup(func() { RunDocker(host, time.Minute, "rmi", "-f", ref) })
	o, err := RunDocker(host, 2*time.Minute, "run", "--rm", "--network", "none", ref)
	if err != nil {
		t.Fatalf("docker run: %v\n%s", err, o)
	}
	return o
}

func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return tail(string(b), 20)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
