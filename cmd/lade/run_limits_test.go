package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lade-build/lade/internal/testutil"
)

// cgroupValue reads container id's limit file from its cgroup: the v2
// one (pure or hybrid host) or, else, v1's in hierarchy v1Dir; ok is
// false when neither exists.
func cgroupValue(id, v2File, v1Dir, v1File string) (string, bool) {
	for _, p := range []string{
		"/sys/fs/cgroup/lade/" + id + "/" + v2File, "/sys/fs/cgroup/unified/lade/" + id + "/" + v2File,
		"/sys/fs/cgroup/" + v1Dir + "/lade/" + id + "/" + v1File,
	} {
		if data, err := os.ReadFile(p); err == nil {
			return strings.TrimSpace(string(data)), strings.HasPrefix(p, "/sys/fs/cgroup/"+v1Dir+"/")
		}
	}
	return "", false
}

// limitCheck is one limit as the cgroup files show it.
type limitCheck struct {
	name           string
	v2File, v2Want string
	v1Dir, v1File  string
	v1Want         string
}

// checkLimitFiles compares id's cgroup files with want; a limit whose
// file the host has in neither version (blkio.weight without BFQ or CFQ,
// swappiness on v2) must not have been created.
func checkLimitFiles(t *testing.T, id string, want []limitCheck) {
	t.Helper()
	for _, c := range want {
		got, v1 := cgroupValue(id, c.v2File, c.v1Dir, c.v1File)
		w := c.v2Want
		if v1 {
			w = c.v1Want
		}
		if got == "" && !hostHasLimit(c) {
			t.Logf("%s: the host has no %s or %s/%s", c.name, c.v2File, c.v1Dir, c.v1File)
			continue
		}
		if got != w {
			t.Errorf("%s: cgroup says %q, want %q", c.name, got, w)
		}
	}
}

// hostHasLimit says whether the host's cgroups offer c's file.
func hostHasLimit(c limitCheck) bool {
	if _, err := os.Stat("/sys/fs/cgroup/" + c.v1Dir + "/" + c.v1File); err == nil {
		return true
	}
	for _, u := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		ctrl, _, _ := strings.Cut(c.v2File, ".")
		data, _ := os.ReadFile(u + "/cgroup.controllers")
		if c.v2File != "" && strings.Contains(" "+string(data)+" ", " "+ctrl+" ") {
			return true
		}
	}
	return false
}

// TestRunLimitFlags: --cpu-period/--cpu-quota, --cpuset-*,
// --memory-reservation, --memory-swappiness, --blkio-weight and
// --oom-score-adj reach the container's cgroup and process and show in
// inspect; update changes them live.
func TestRunLimitFlags(t *testing.T) {
	root := newRoot(t)
	id := runDetached(t, root, "--name", "lim", "--cpu-period", "50000", "--cpu-quota", "25000", "--cpuset-cpus", "0",
		"--cpuset-mems", "0", "--memory-reservation", "32m", "--memory-swappiness", "10", "--blkio-weight", "300",
		"--oom-score-adj", "500", "busybox", "sleep", "300")
	checkLimitFiles(t, id, []limitCheck{
		{"cpu quota", "cpu.max", "25000 50000", "cpu", "cpu.cfs_quota_us", "25000"},
		{"cpu period", "cpu.max", "25000 50000", "cpu", "cpu.cfs_period_us", "50000"},
		{"cpuset cpus", "cpuset.cpus", "0", "cpuset", "cpuset.cpus", "0"},
		{"cpuset mems", "cpuset.mems", "0", "cpuset", "cpuset.mems", "0"},
		{"memory reservation", "memory.low", strconv.Itoa(32 << 20), "memory", "memory.soft_limit_in_bytes", strconv.Itoa(32 << 20)},
		{"swappiness", "", "", "memory", "memory.swappiness", "10"},
		{"blkio weight", "io.weight", "default 2930", "blkio", "blkio.weight", "300"},
	})
	if r := lade(t, root, "", "exec", "lim", "cat", "/proc/1/oom_score_adj"); r.stdout != "500\n" {
		t.Errorf("oom_score_adj in the container: %+v", r)
	}
	f := "{{.HostConfig.CPUPeriod}} {{.HostConfig.CPUQuota}} {{.HostConfig.CpusetCpus}} {{.HostConfig.CpusetMems}} " +
		"{{.HostConfig.MemoryReservation}} {{.HostConfig.MemorySwappiness}} {{.HostConfig.BlkioWeight}} {{.HostConfig.OomScoreAdj}}"
	if out := lade(t, root, "", "inspect", "-f", f, "lim").stdout; out != "50000 25000 0 0 33554432 10 300 500\n" {
		t.Errorf("inspect: %q", out)
	}
	online, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		t.Fatal(err)
	}
	cpus := strings.TrimSpace(string(online)) // all of the host's
	if r := lade(t, root, "", "update", "--cpu-period", "100000", "--cpu-quota", "-1", "--cpuset-cpus", cpus,
		"--memory-reservation", "16m", "--blkio-weight", "500", "lim"); r.code != 0 {
		t.Fatalf("update: %+v", r)
	}
	checkLimitFiles(t, id, []limitCheck{
		{"updated cpu quota", "cpu.max", "max 100000", "cpu", "cpu.cfs_quota_us", "-1"},
		{"updated cpu period", "cpu.max", "max 100000", "cpu", "cpu.cfs_period_us", "100000"},
		{"updated cpuset cpus", "cpuset.cpus", cpus, "cpuset", "cpuset.cpus", cpus},
		{"updated memory reservation", "memory.low", strconv.Itoa(16 << 20), "memory", "memory.soft_limit_in_bytes", strconv.Itoa(16 << 20)},
		{"updated blkio weight", "io.weight", "default 4950", "blkio", "blkio.weight", "500"},
	})
	if out := lade(t, root, "", "inspect", "-f", "{{.HostConfig.CPUPeriod}} {{.HostConfig.CPUQuota}} {{.HostConfig.BlkioWeight}}", "lim").stdout; out != "100000 -1 500\n" {
		t.Errorf("inspect after update: %q", out)
	}
	ladeWithin(t, time.Minute, root, "rm", "-f", "lim")
}

// TestRunNamespaceModes: --pid, --ipc and --uts host share the host's
// namespaces (and its host name), --domainname names the container's
// NIS domain; what docker refuses is refused.
func TestRunNamespaceModes(t *testing.T) {
	root := newRoot(t)
	host := map[string]string{}
	for _, ns := range []string{"pid", "ipc", "uts"} {
		l, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			t.Fatal(err)
		}
		host[ns] = l
	}
	hostname, _ := os.Hostname()
	readNS := "for n in pid ipc uts; do readlink /proc/self/ns/$n; done; hostname"
	shared := host["pid"] + "\n" + host["ipc"] + "\n" + host["uts"] + "\n" + hostname + "\n"
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		same    bool   // stdout is the host's namespaces and name
		out     string // else this, when set
		private bool   // else none of the host's namespaces
	}{
		{"host", []string{"--pid", "host", "--ipc", "host", "--uts", "host", "busybox", "sh", "-c", readNS}, 0, true, "", false},
		{"private", []string{"--ipc", "private", "busybox", "sh", "-c", readNS}, 0, false, "", true},
		{"domainname", []string{"--domainname", "example.org", "busybox", "cat", "/proc/sys/kernel/domainname"}, 0, false, "example.org\n", false},
		{"uts host and hostname", []string{"--uts", "host", "--hostname", "x", "busybox", "true"}, 125, false, "", false},
		{"pid container", []string{"--pid", "container:other", "busybox", "true"}, 125, false, "", false},
		{"ipc bad", []string{"--ipc", "shareable-ish", "busybox", "true"}, 125, false, "", false},
		{"oom-score-adj range", []string{"--oom-score-adj", "2000", "busybox", "true"}, 125, false, "", false},
		{"cpus and quota", []string{"--cpus", "1", "--cpu-quota", "50000", "busybox", "true"}, 125, false, "", false},
		{"cpu period range", []string{"--cpu-period", "10", "busybox", "true"}, 125, false, "", false},
		{"swappiness range", []string{"--memory-swappiness", "101", "busybox", "true"}, 125, false, "", false},
		{"blkio range", []string{"--blkio-weight", "5", "busybox", "true"}, 125, false, "", false},
		{"cpuset bad", []string{"--cpuset-cpus", "a-b", "busybox", "true"}, 125, false, "", false},
		{"reservation over limit", []string{"-m", "32m", "--memory-reservation", "64m", "busybox", "true"}, 125, false, "", false},
	} {
		r := lade(t, root, "", append([]string{"run", "--rm"}, tc.args...)...)
		switch {
		case r.code != tc.code:
			t.Errorf("%s: %+v, want status %d", tc.name, r, tc.code)
		case tc.same && r.stdout != shared:
			t.Errorf("%s: %q, want the host's %q", tc.name, r.stdout, shared)
		case tc.out != "" && r.stdout != tc.out:
			t.Errorf("%s: %q, want %q", tc.name, r.stdout, tc.out)
		case tc.private && (strings.Contains(r.stdout, host["pid"]) || strings.Contains(r.stdout, host["ipc"]) || strings.Contains(r.stdout, host["uts"])):
			t.Errorf("%s: shares a host namespace: %q", tc.name, r.stdout)
		}
	}
	if r := lade(t, root, "", "create", "--name", "modes", "--pid", "host", "--uts", "host", "--domainname", "", "busybox", "true"); r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	t.Cleanup(func() { lade(t, root, "", "rm", "-f", "modes") })
	// What the command left behind goes with it, and rm -f stops it.
	runDetached(t, root, "--name", "orphans", "--pid", "host", "--uts", "host", "busybox", "sh", "-c", "sleep 301 & sleep 302")
	if r := lade(t, root, "", "exec", "orphans", "readlink", "/proc/self/ns/pid"); r.stdout != host["pid"]+"\n" {
		t.Errorf("exec in a --pid host container: %+v", r)
	}
	if r := lade(t, root, "", "top", "orphans"); !strings.Contains(r.stdout, "sleep 301") || strings.Count(r.stdout, "\n") != 3 {
		t.Errorf("top of a --pid host container: %+v, want its two sleeps", r)
	}
	if r := ladeWithin(t, time.Minute, root, "rm", "-f", "orphans"); r.code != 0 {
		t.Errorf("rm -f of a --pid host container: %+v", r)
	}
	if out, _ := exec.Command("pgrep", "-f", "sleep 30[12]").Output(); len(out) > 0 {
		t.Errorf("--pid host container's processes outlived it: %s", out)
	}
	f := "{{.HostConfig.PidMode}} {{.HostConfig.IpcMode}} {{.HostConfig.UTSMode}} {{.Config.Hostname}}"
	if out := lade(t, root, "", "inspect", "-f", f, "modes").stdout; out != "host private host "+hostname+"\n" {
		t.Errorf("inspect: %q", out)
	}
}

// TestHealthStartInterval: in the start period, probes come every
// --health-start-interval, not every --health-interval (an hour here).
func TestHealthStartInterval(t *testing.T) {
	root := newRoot(t)
	runDetached(t, root, "--name", "warm", "--health-cmd", "true", "--health-interval", "1h", "--health-start-period", "1h",
		"--health-start-interval", "100ms", "busybox", "sleep", "300")
	testutil.Poll(t, "the first probe of the start period", func() bool {
		return lade(t, root, "", "inspect", "-f", "{{.State.Health.Status}}", "warm").stdout == "healthy\n"
	})
	if out := lade(t, root, "", "inspect", "-f", "{{.Config.Healthcheck.StartInterval}}", "warm").stdout; out != "100ms\n" {
		t.Errorf("inspect: %q", out)
	}
	ladeWithin(t, time.Minute, root, "rm", "-f", "warm")
}

// TestCreateAttach: create -a records the streams as docker does (both
// output streams without -a), and inspect shows them.
func TestCreateAttach(t *testing.T) {
	root := newRoot(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"default", []string{"create", "busybox", "true"}, 0, "true true\n"},
		{"stdout", []string{"create", "-a", "stdout", "busybox", "true"}, 0, "true false\n"},
		{"bad", []string{"create", "-a", "stdpipe", "busybox", "true"}, 125, ""},
		{"run detached", []string{"run", "-d", "busybox", "true"}, 0, "false false\n"},
	} {
		r := lade(t, root, "", tc.args...)
		if r.code != tc.code {
			t.Errorf("%s: %+v, want status %d", tc.name, r, tc.code)
			continue
		}
		if tc.code != 0 {
			continue
		}
		id := strings.TrimSpace(r.stdout)
		t.Cleanup(func() { lade(t, root, "", "rm", "-f", id) })
		if out := lade(t, root, "", "inspect", "-f", "{{.Config.AttachStdout}} {{.Config.AttachStderr}}", id).stdout; out != tc.want {
			t.Errorf("%s: inspect says %q, want %q", tc.name, out, tc.want)
		}
	}
}
