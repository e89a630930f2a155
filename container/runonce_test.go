package container

import "testing"

// The init starts in the container's cgroup only when no limit there
// could stop or slow lade's own start.
func TestUnlimited(t *testing.T) {
	if !unlimited(Resources{}) {
		t.Error("no limits read as limited")
	}
	swappiness := int64(10)
	limited := []Resources{
		{Memory: 64 << 20}, {PidsLimit: 5}, {CPUs: 0.5}, {CPUQuota: 1000, CPUPeriod: 100000},
		{CpusetCpus: "0"}, {MemorySwappiness: &swappiness},
	}
	for _, r := range limited {
		if unlimited(r) {
			t.Errorf("%+v reads as no limit", r)
		}
	}
}
