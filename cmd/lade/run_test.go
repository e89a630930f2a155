package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunForeground(t *testing.T) {
	root := newRoot(t)
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("# comment\nFROM_FILE=yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string // exact unless empty
		has    string // stdout substring
	}{
		{name: "exit code", args: []string{"busybox", "sh", "-c", "exit 7"}, code: 7},
		{name: "not found", args: []string{"busybox", "nope"}, code: 127},
		{name: "not executable", args: []string{"busybox", "/etc/passwd"}, code: 126},
		{name: "lade failure", args: []string{"--memory", "bogus", "busybox", "true"}, code: 125},
		{name: "pid 1", args: []string{"busybox", "ps", "-o", "pid"}, has: "\n    1\n"},
		{name: "no host fds", args: []string{"busybox", "ls", "/proc/self/fd"}, stdout: "0\n1\n2\n3\n"},
		{name: "env and env-file", args: []string{"-e", "A=1", "--env-file", envFile, "busybox", "sh", "-c", "echo $A $FROM_FILE"}, stdout: "1 yes\n"},
		{name: "entrypoint", args: []string{"--entrypoint", "echo", "busybox", "hi"}, stdout: "hi\n"},
		{name: "workdir", args: []string{"-w", "/new/dir", "busybox", "pwd"}, stdout: "/new/dir\n"},
		{name: "user", args: []string{"-u", "1000:1000", "busybox", "id", "-u"}, stdout: "1000\n"},
		{name: "hostname", args: []string{"--hostname", "box", "--network", "none", "busybox", "sh", "-c", "hostname; cat /etc/hostname; grep box /etc/hosts"}, stdout: "box\nbox\n127.0.1.1\tbox\n"},
		{name: "stdin with -i", args: []string{"-i", "busybox", "cat"}, stdin: "fed\n", stdout: "fed\n"},
		{name: "no stdin without -i", args: []string{"busybox", "cat"}, stdin: "fed\n", stdout: ""},
		{name: "read-only rootfs", args: []string{"--read-only", "busybox", "sh", "-c", "touch /x 2>/dev/null || echo denied; touch /dev/shm/y && echo shm-ok"},
			stdout: "denied\nshm-ok\n"},
		{name: "tmpfs", args: []string{"--tmpfs", "/scratch", "busybox", "sh", "-c", "touch /scratch/f && grep -c ' /scratch tmpfs' /proc/mounts"}, stdout: "1\n"},
		{name: "default capabilities", args: []string{"busybox", "grep", "CapBnd", "/proc/self/status"}, has: "00000000a80425fb"},
		{name: "cap-drop all", args: []string{"--cap-drop", "ALL", "busybox", "grep", "CapEff", "/proc/self/status"}, has: "0000000000000000"},
		{name: "masked paths", args: []string{"busybox", "sh", "-c", "cat /proc/keys /proc/timer_list /proc/sched_debug 2>/dev/null | wc -c"}, stdout: "0\n"},
		{name: "read-only /proc/sys", args: []string{"busybox", "sh", "-c", "echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo denied"}, stdout: "denied\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := lade(t, root, tc.stdin, append([]string{"run", "--rm"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			if tc.stdout != "" && r.stdout != tc.stdout {
				t.Errorf("stdout %q, want %q", r.stdout, tc.stdout)
			}
			if tc.stdout == "" && tc.has == "" && tc.code == 0 && r.stdout != "" {
				t.Errorf("stdout %q, want none", r.stdout)
			}
			if tc.has != "" && !strings.Contains(r.stdout, tc.has) {
				t.Errorf("stdout %q lacks %q", r.stdout, tc.has)
			}
		})
	}
	// --rm leaves nothing behind.
	if r := lade(t, root, "", "ps", "-a", "-q"); r.stdout != "" {
		t.Errorf("containers left after --rm: %q", r.stdout)
	}
}

func TestRunBindMountReadOnly(t *testing.T) {
	root := newRoot(t)
	host := writeTree(t, map[string]string{"data.txt": "from host\n"})
	r := lade(t, root, "", "run", "--rm", "-v", host+":/data:ro", "busybox", "sh", "-c",
		"cat /data/data.txt; echo x > /data/new 2>/dev/null && echo wrote || echo denied")
	if r.code != 0 || r.stdout != "from host\ndenied\n" {
		t.Fatalf("ro bind: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(host, "new")); err == nil {
		t.Error("write went through a read-only bind")
	}
	r = lade(t, root, "", "run", "--rm", "--mount", "type=bind,source="+host+",target=/data", "busybox", "sh", "-c", "echo x > /data/new")
	if r.code != 0 {
		t.Fatalf("rw bind: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(host, "new")); err != nil {
		t.Errorf("rw bind write missing: %v", err)
	}
	// A host file binds as a file, read-only with :ro, at a path the image
	// does not have; a missing host path becomes a directory, as in docker.
	file := filepath.Join(host, "data.txt")
	r = lade(t, root, "", "run", "--rm", "-v", file+":/new/dir/f.txt:ro", "busybox", "sh", "-c",
		"cat /new/dir/f.txt; echo x > /new/dir/f.txt 2>/dev/null && echo wrote || echo denied")
	if r.code != 0 || r.stdout != "from host\ndenied\n" {
		t.Fatalf("file bind: %+v", r)
	}
	missing := filepath.Join(host, "made", "by", "run")
	if r := lade(t, root, "", "run", "--rm", "-v", missing+":/m", "busybox", "touch", "/m/x"); r.code != 0 {
		t.Fatalf("bind of a missing host dir: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(missing, "x")); err != nil {
		t.Errorf("missing host dir not created and bound: %v", err)
	}
}

func TestNamedVolumeSurvivesRemove(t *testing.T) {
	root := newRoot(t)
	if r := lade(t, root, "", "volume", "create", "data"); r.code != 0 || r.stdout != "data\n" {
		t.Fatalf("volume create: %+v", r)
	}
	r := lade(t, root, "", "run", "--name", "writer", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/f")
	if r.code != 0 {
		t.Fatalf("writer: %+v", r)
	}
	if r := lade(t, root, "", "volume", "rm", "data"); r.code == 0 {
		t.Error("volume rm of a volume in use succeeded")
	}
	if r := lade(t, root, "", "rm", "writer"); r.code != 0 {
		t.Fatalf("rm: %+v", r)
	}
	r = lade(t, root, "", "run", "--rm", "--mount", "type=volume,source=data,target=/v", "busybox", "cat", "/v/f")
	if r.code != 0 || r.stdout != "kept\n" {
		t.Fatalf("reader: %+v", r)
	}
	r = lade(t, root, "", "volume", "inspect", "data")
	var vols []struct{ Name, Mountpoint string }
	if err := json.Unmarshal([]byte(r.stdout), &vols); err != nil || len(vols) != 1 || vols[0].Name != "data" {
		t.Fatalf("volume inspect: %v %+v", err, r)
	}
	if r := lade(t, root, "", "volume", "ls", "-q"); r.stdout != "data\n" {
		t.Errorf("volume ls: %q", r.stdout)
	}
	if r := lade(t, root, "", "volume", "rm", "data"); r.code != 0 {
		t.Errorf("volume rm: %+v", r)
	}
}

func TestVolumeSeededFromImage(t *testing.T) {
	root := newRoot(t)
	// /etc of the image is copied into the empty volume on first use.
	r := lade(t, root, "", "run", "--rm", "-v", "etcvol:/etc", "busybox", "true")
	if r.code != 0 {
		t.Fatalf("run: %+v", r)
	}
	r = lade(t, root, "", "run", "--rm", "-v", "etcvol:/mnt", "busybox", "sh", "-c", "grep -c ^root: /mnt/passwd")
	if r.code != 0 || r.stdout != "1\n" {
		t.Fatalf("seeded volume: %+v", r)
	}
}

// freePort returns a loopback TCP port nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// poll retries fn until it reports true, failing the test after 30s.
func TestRunResources(t *testing.T) {
	root := newRoot(t)
	t.Run("memory", func(t *testing.T) {
		if _, err := os.Stat("/sys/fs/cgroup/memory/cgroup.procs"); err != nil {
			if data, _ := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); !strings.Contains(string(data), "memory") {
				t.Skip("no memory cgroup controller (v1 or v2) on this host")
			}
		}
		r := lade(t, root, "", "run", "--rm", "--memory", "32m", "busybox", "sh", "-c", "head -c 64m /dev/zero | tail > /dev/null")
		if r.code != 137 {
			t.Fatalf("exit %d, want 137 (OOM killed): %+v", r.code, r)
		}
		r = lade(t, root, "", "run", "--rm", "--memory", "32m", "busybox", "sh", "-c", "head -c 8m /dev/zero | tail > /dev/null")
		if r.code != 0 {
			t.Fatalf("small allocation failed: %+v", r)
		}
	})
	t.Run("pids", func(t *testing.T) {
		if _, err := os.Stat("/sys/fs/cgroup/pids/cgroup.procs"); err != nil {
			if data, _ := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); !strings.Contains(string(data), "pids") {
				t.Skip("no pids cgroup controller (v1 or v2) on this host")
			}
		}
		r := lade(t, root, "", "run", "--rm", "--pids-limit", "8", "busybox", "sh", "-c",
			"n=0; for i in $(seq 1 20); do sleep 30 & n=$((n+1)); done 2>/dev/null; kill $(jobs -p) 2>/dev/null; echo $n")
		if !strings.Contains(r.stderr+r.stdout, "can't fork") && r.code == 0 {
			t.Fatalf("20 processes started under --pids-limit 8: %+v", r)
		}
	})
	t.Run("cpus", func(t *testing.T) {
		r := lade(t, root, "", "run", "--rm", "--cpus", "0.5", "busybox", "true")
		if r.code != 0 {
			t.Fatalf("--cpus: %+v", r)
		}
	})
}
