package container

import "testing"

// The init starts in the container's cgroup only when no limit there
// could stop or slow lade's own start.
func TestUnlimited(t *testing.T) {
	swappiness := int64(10)
	for _, tc := range []struct {
		name string
		r    Resources
		want bool
	}{
		{"none", Resources{}, true},
		{"memory", Resources{Memory: 64 << 20}, false},
		{"pids", Resources{PidsLimit: 5}, false},
		{"cpus", Resources{CPUs: 0.5}, false},
		{"cpu quota", Resources{CPUQuota: 1000, CPUPeriod: 100000}, false},
		{"cpuset", Resources{CpusetCpus: "0"}, false},
		{"swappiness", Resources{MemorySwappiness: &swappiness}, false},
	} {
		if got := unlimited(tc.r); got != tc.want {
			t.Errorf("%s: unlimited %v, want %v", tc.name, got, tc.want)
		}
	}
}
