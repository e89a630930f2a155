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

const (
	systemDockerHost = "unix:///var/run/docker.sock"
	testDockerSock   = "/var/run/lade-test-docker.sock"
)

// StaticBusybox returns the host's busybox, installing busybox-static if
// there is no statically linked one (a dynamic one cannot run in an
// image without its libc).
func StaticBusybox(t testing.TB) string {
	t.Helper()
	const p = "/bin/busybox"
	if isStatic(p) {
		return p
	}
	if out, err := AptInstall("busybox-static"); err != nil {
		t.Skipf("no static %s and apt-get install busybox-static failed: %v\n%s", p, err, tail(out, 10))
	}
	if !isStatic(p) {
		t.Skipf("%s is still not a static executable after installing busybox-static", p)
	}
	return p
}

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

// DockerTools returns the dockerd path, installing Debian's docker.io once
// if the daemon or the full client is missing.
func DockerTools(t testing.TB) string {
	t.Helper()
	find := func() string {
		for _, p := range []string{"/usr/bin/dockerd", "/usr/sbin/dockerd"} {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
		return ""
	}
	_, clientErr := os.Stat(DockerClient)
	if d := find(); d != "" && clientErr == nil {
		return d
	}
	if out, err := AptInstall("docker.io"); err != nil {
		t.Skipf("dockerd or %s missing and apt-get install docker.io failed: %v\n%s", DockerClient, err, tail(out, 10))
	}
	d := find()
	if _, err := os.Stat(DockerClient); err != nil || d == "" {
		t.Skipf("docker.io installed but dockerd or %s is still missing", DockerClient)
	}
	return d
}

// AptInstall installs pkg, refreshing the package lists first only when
// the plain install fails (a fresh machine may have none).
func AptInstall(pkg string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	apt := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := apt("install", "-y", pkg); err == nil {
		return out, nil
	}
	if out, err := apt("update"); err != nil {
		return out, err
	}
	return apt("install", "-y", pkg)
}

// DockerEngine returns a DOCKER_HOST that answers: the system engine if
// one runs, else a private dockerd started for this test and stopped after.
func DockerEngine(t testing.TB, dockerd string) string {
	t.Helper()
	if _, err := os.Stat(strings.TrimPrefix(systemDockerHost, "unix://")); err == nil {
		if _, err := RunDocker(systemDockerHost, 20*time.Second, "version"); err == nil {
			return systemDockerHost
		}
	}

	host := "unix://" + testDockerSock
	// A socket left by a crashed earlier run would make dockerd refuse to start.
	if _, err := RunDocker(host, 5*time.Second, "version"); err == nil {
		t.Skipf("%s is already served by another engine; refusing to share it", testDockerSock)
	}
	os.Remove(testDockerSock)

	root := t.TempDir()
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
		t.Skipf("cannot start %s: %v", dockerd, err)
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
		os.Remove(testDockerSock)
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := RunDocker(host, 5*time.Second, "version"); err == nil {
			return host
		}
		select {
		case err := <-exited:
			exited <- err // let the cleanup see it has already exited
			t.Skipf("dockerd exited (%v) before answering; cannot run docker here. Log tail:\n%s", err, logTail(logPath))
		default:
		}
		if time.Now().After(deadline) {
			t.Skipf("dockerd did not answer on %s within 30s; cannot run docker here. Log tail:\n%s", host, logTail(logPath))
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
