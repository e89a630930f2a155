package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRunNewFlags: --cidfile, --label-file, --expose, --volumes-from,
// --log-driver none, -a and --pull, each against what docker does.
func TestRunNewFlags(t *testing.T) {
	root := newRoot(t)
	dir := t.TempDir()
	cid := filepath.Join(dir, "cid")
	labelFile := filepath.Join(dir, "labels")
	if err := os.WriteFile(labelFile, []byte("# labels\ntier=back\nowner=ops\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := lade(t, root, "", "run", "--name", "flags", "--cidfile", cid, "--label-file", labelFile, "-l", "owner=dev",
		"--expose", "7000-7001/udp", "-v", "/data", "busybox", "sh", "-c", "echo shared > /data/f")
	if r.code != 0 {
		t.Fatalf("run: %+v", r)
	}
	labels := `{{index .Config.Labels "tier"}} {{index .Config.Labels "owner"}}`
	if data, _ := os.ReadFile(cid); len(data) != 64 || lade(t, root, "", "container", "inspect", "-f", labels, string(data)).stdout != "back dev\n" {
		t.Errorf("--cidfile wrote %q, or the labels are not the label file's with -l winning", data)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"cidfile exists", []string{"run", "--cidfile", cid, "busybox", "true"}, 125, ""},
		{"volumes-from", []string{"run", "--rm", "--volumes-from", "flags:ro", "busybox", "sh", "-c", "cat /data/f; touch /data/g 2>/dev/null || echo ro"}, 0, "shared\nro\n"},
		{"attach stdout", []string{"run", "--rm", "-a", "stdout", "busybox", "sh", "-c", "echo out; echo err >&2"}, 0, "out\n"},
		{"attach bad", []string{"run", "--rm", "-a", "stdpipe", "busybox", "true"}, 125, ""},
		{"attach and detach", []string{"run", "-d", "-a", "stdout", "busybox", "true"}, 125, ""},
		{"log-driver none", []string{"run", "--name", "quiet", "--log-driver", "none", "busybox", "echo", "shown"}, 0, "shown\n"},
		{"log-driver bad", []string{"run", "--rm", "--log-driver", "syslog", "busybox", "true"}, 125, ""},
		{"pull never", []string{"run", "--rm", "--pull", "never", "busybox", "true"}, 0, ""},
		{"pull never missing", []string{"run", "--rm", "--pull", "never", "nosuch-image", "true"}, 125, ""},
		{"expose bad", []string{"run", "--rm", "--expose", "0", "busybox", "true"}, 125, ""},
	} {
		r := lade(t, root, "", tc.args...)
		if r.code != tc.code || tc.code == 0 && r.stdout != tc.out {
			t.Errorf("%s: %+v, want status %d and %q", tc.name, r, tc.code, tc.out)
		}
	}
	if r := lade(t, root, "", "logs", "quiet"); r.code == 0 || r.stdout != "" {
		t.Errorf("logs of a --log-driver none container: %+v", r)
	}
	// --expose adds to what -P publishes.
	runDetached(t, root, "--name", "exposed", "--expose", "7000", "-P", "busybox", "sleep", "300")
	if ports := inspectContainer(t, root, "exposed").NetworkSettings.Ports; len(ports) != 1 {
		t.Errorf("-P with --expose 7000 published %v", ports)
	}
}

// TestRunKernelFlags: --shm-size sizes /dev/shm, --ulimit sets the
// command's limits, --sysctl a namespaced parameter; others are refused.
func TestRunKernelFlags(t *testing.T) {
	root := newRoot(t)
	r := lade(t, root, "", "run", "--rm", "--network", "none", "--shm-size", "100m", "--ulimit", "nofile=1000:2000",
		"--sysctl", "net.ipv4.ip_forward=1", "busybox", "sh", "-c",
		"df -k /dev/shm | awk 'NR==2 {print $2}'; ulimit -n; ulimit -Hn; cat /proc/sys/net/ipv4/ip_forward")
	if r.code != 0 || r.stdout != "102400\n1000\n2000\n1\n" {
		t.Errorf("run: %+v", r)
	}
	for _, args := range [][]string{
		{"--sysctl", "kernel.hostname=x"},
		{"--network", "host", "--sysctl", "net.ipv4.ip_forward=1"},
		{"--ulimit", "bogus=1"},
		{"--shm-size", "lots"},
	} {
		if r := lade(t, root, "", append(append([]string{"run", "--rm"}, args...), "busybox", "true")...); r.code != 125 {
			t.Errorf("run %v: %+v, want 125", args, r)
		}
	}
}
