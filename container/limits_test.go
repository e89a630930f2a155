package container

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCgroups makes a cgroupfs stand-in under a temp dir: files holds
// each path's content (a hierarchy is a dir with cgroup.procs).
func fakeCgroups(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, v := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := cgroupRoot
	cgroupRoot = root
	t.Cleanup(func() { cgroupRoot = old })
	return root
}

// TestLimitFiles: each new limit lands in its v1 or v2 file, a v1 cpuset
// cgroup inherits what is not given, and blkio without a weight file is
// a warning.
func TestLimitFiles(t *testing.T) {
	swap := int64(10)
	r := Resources{CPUPeriod: 50000, CPUQuota: 25000, CpusetCpus: "1", MemoryReservation: 1 << 25,
		MemorySwappiness: &swap, BlkioWeight: 300}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  map[string]string
		warn  string
	}{
		{"v1", map[string]string{"cpu/cgroup.procs": "", "cpuset/cgroup.procs": "", "cpuset/cpuset.cpus": "0-3",
			"cpuset/cpuset.mems": "0", "memory/cgroup.procs": "", "blkio/cgroup.procs": ""},
			map[string]string{"cpu/lade/c/cpu.cfs_period_us": "50000", "cpu/lade/c/cpu.cfs_quota_us": "25000",
				"cpuset/lade/cpuset.cpus": "0-3", "cpuset/lade/c/cpuset.cpus": "1", "cpuset/lade/c/cpuset.mems": "0",
				"memory/lade/c/memory.soft_limit_in_bytes": "33554432", "memory/lade/c/memory.swappiness": "10"},
			"no blkio.weight"},
		{"v2", map[string]string{"cgroup.controllers": "cpu cpuset memory io"},
			map[string]string{"lade/c/cpu.max": "25000 50000", "lade/c/cpuset.cpus": "1", "lade/c/memory.low": "33554432",
				"lade/c/io.weight": "2930"}, ""},
	} {
		root := fakeCgroups(t, tc.files)
		var w bytes.Buffer
		if _, err := setupCgroup("c", r, &w); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for p, want := range tc.want {
			if got, _ := os.ReadFile(filepath.Join(root, p)); string(got) != want {
				t.Errorf("%s: %s = %q, want %q", tc.name, p, got, want)
			}
		}
		if !strings.Contains(w.String(), tc.warn) || tc.warn == "" && w.Len() > 0 {
			t.Errorf("%s: warnings %q, want %q", tc.name, w.String(), tc.warn)
		}
	}
}

// TestCheckLimits: docker's rules for the new limits.
func TestCheckLimits(t *testing.T) {
	bad := int64(101)
	for _, tc := range []struct {
		name string
		r    Resources
		ok   bool
	}{
		{"period and quota", Resources{CPUPeriod: 100000, CPUQuota: -1}, true},
		{"cpus and quota", Resources{CPUs: 1, CPUQuota: 50000}, false},
		{"short period", Resources{CPUPeriod: 999}, false},
		{"short quota", Resources{CPUQuota: 999}, false},
		{"swappiness", Resources{MemorySwappiness: &bad}, false},
		{"blkio", Resources{BlkioWeight: 9}, false},
		{"reservation over memory", Resources{Memory: 1 << 25, MemoryReservation: 1 << 26}, false},
		{"cpuset list", Resources{CpusetCpus: "0-2,4", CpusetMems: "0"}, true},
		{"cpuset backwards", Resources{CpusetCpus: "3-1"}, false},
		{"cpuset junk", Resources{CpusetMems: "x"}, false},
	} {
		if err := checkLimits(tc.r); (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
