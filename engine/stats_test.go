package engine

import (
	"testing"

	dockercontainer "github.com/moby/moby/api/types/container"
)

func TestNewStatsEntry(t *testing.T) {
	r := stats(100, 300, 1000, 3000)
	e := NewStatsEntry("web", r)
	// 200 ns of 2000 ns on 2 CPUs; usage less inactive page cache.
	if e.CPUPercentage != 20 || e.Memory != 600 || e.MemoryPercent != 60 || e.NetworkRx != 7 || e.BlockWrite != 5 || e.Name != "web" {
		t.Errorf("NewStatsEntry = %+v", e)
	}
}

func stats(preCPU, cpu, preSys, sys uint64) dockercontainer.StatsResponse {
	var r dockercontainer.StatsResponse
	r.Name = "/web"
	r.PreCPUStats.CPUUsage.TotalUsage, r.CPUStats.CPUUsage.TotalUsage = preCPU, cpu
	r.PreCPUStats.SystemUsage, r.CPUStats.SystemUsage = preSys, sys
	r.CPUStats.OnlineCPUs = 2
	r.MemoryStats = dockercontainer.MemoryStats{Usage: 700, Limit: 1000, Stats: map[string]uint64{"inactive_file": 100}}
	r.Networks = map[string]dockercontainer.NetworkStats{"eth0": {RxBytes: 7}}
	r.BlkioStats.IoServiceBytesRecursive = []dockercontainer.BlkioStatEntry{{Op: "write", Value: 5}}
	return r
}
