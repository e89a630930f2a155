package container

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	dockercontainer "github.com/moby/moby/api/types/container"
	"golang.org/x/sys/unix"
)

// clockTick is the unit of /proc's CPU times: USER_HZ, 100 on Linux.
const clockTick = uint64(time.Second / 100)

// Stats samples c's resource use as the Engine API's stats endpoint
// reports it; prev, the sample before (nil for the first), gives the
// Pre* fields CPU % is computed from. A container that is not running
// reports its identity alone, as docker's does.
func (s *Store) Stats(c *Container, prev *dockercontainer.StatsResponse) dockercontainer.StatsResponse {
	r := dockercontainer.StatsResponse{ID: c.ID, Name: "/" + c.Name, OSType: "linux", Read: time.Now()}
	if prev != nil {
		r.PreRead, r.PreCPUStats = prev.Read, prev.CPUStats
	}
	pids, err := s.Processes(c)
	if err != nil {
		return r
	}
	r.NumProcs = uint32(runtime.NumCPU())
	r.PidsStats = dockercontainer.PidsStats{Current: uint64(len(pids)), Limit: uint64(c.Resources.PidsLimit)}
	r.CPUStats = dockercontainer.CPUStats{SystemUsage: systemCPU(), OnlineCPUs: uint32(runtime.NumCPU())}
	var rss, read, write uint64
	for _, pid := range pids {
		r.CPUStats.CPUUsage.TotalUsage += procCPU(pid)
		rss += procMemory(pid)
		rd, wr := procIO(pid)
		read, write = read+rd, write+wr
	}
	r.MemoryStats = s.memoryStats(c, rss)
	r.BlkioStats.IoServiceBytesRecursive = []dockercontainer.BlkioStatEntry{{Op: "read", Value: read}, {Op: "write", Value: write}}
	if c.Network != "host" && len(pids) > 0 {
		r.Networks = netStats(pids[0])
	}
	return r
}

// memoryStats reads c's memory cgroup when it has one (-m), else counts
// its processes' PSS; without a limit, the host's memory is
// the limit, as in docker.
func (s *Store) memoryStats(c *Container, rss uint64) dockercontainer.MemoryStats {
	m := dockercontainer.MemoryStats{Usage: rss, Limit: hostMemory(), Stats: map[string]uint64{}}
	for _, d := range cgroupDirs(c.ID) {
		v2 := readUint(filepath.Join(d, "memory.current"))
		v1 := readUint(filepath.Join(d, "memory.usage_in_bytes"))
		if v2 == 0 && v1 == 0 {
			continue
		}
		m.Usage = max(v1, v2)
		for k, v := range readKeyed(filepath.Join(d, "memory.stat")) {
			m.Stats[k] = v
		}
		break
	}
	if c.Resources.Memory > 0 {
		m.Limit = min(m.Limit, uint64(c.Resources.Memory))
	}
	return m
}

// readUint reads a file holding one number; 0 when it cannot.
func readUint(p string) uint64 {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// readKeyed reads "key value [unit]" lines (memory.stat, /proc/PID/io,
// smaps_rollup).
func readKeyed(p string) map[string]uint64 {
	out := map[string]uint64{}
	b, err := os.ReadFile(p)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			if n, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				out[f[0]] = n
			}
		}
	}
	return out
}

// statFields returns the fields of /proc/pid/stat after the command
// name (which may hold spaces): field 3 of proc(5) is index 0.
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// procCPU is the CPU time of pid and its reaped children, in ns.
func procCPU(pid int) uint64 {
	f := statFields(pid)
	if len(f) < 15 {
		return 0
	}
	var ticks uint64
	for _, v := range f[11:15] { // utime, stime, cutime, cstime
		n, _ := strconv.ParseUint(v, 10, 64)
		ticks += n
	}
	return ticks * clockTick
}

// procMemory is pid's share of resident memory in bytes (its PSS: pages
// shared with the container's other processes count once in the sum, as
// in a memory cgroup's charge).
func procMemory(pid int) uint64 {
	kb := readKeyed(fmt.Sprintf("/proc/%d/smaps_rollup", pid))["Pss:"]
	return kb << 10
}

// procIO is what pid read from and wrote to storage, in bytes.
func procIO(pid int) (read, write uint64) {
	io := readKeyed(fmt.Sprintf("/proc/%d/io", pid))
	return io["read_bytes:"], io["write_bytes:"]
}

// systemCPU is the host's CPU time since boot in ns (docker's
// system_cpu_usage): the sum of /proc/stat's cpu line.
func systemCPU() uint64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0
	}
	fields := strings.Fields(sc.Text())
	var ticks uint64
	for _, v := range fields[1:min(len(fields), 8)] { // user .. softirq
		n, _ := strconv.ParseUint(v, 10, 64)
		ticks += n
	}
	return ticks * clockTick
}

// hostMemory is the host's RAM in bytes.
func hostMemory() uint64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}

// netStats reads the interfaces of pid's network namespace, loopback
// aside, from /proc/pid/net/dev.
func netStats(pid int) map[string]dockercontainer.NetworkStats {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		return nil
	}
	out := map[string]dockercontainer.NetworkStats{}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		f := strings.Fields(rest)
		if !ok || name == "lo" || len(f) < 16 {
			continue
		}
		n := make([]uint64, 16)
		for i := range n {
			n[i], _ = strconv.ParseUint(f[i], 10, 64)
		}
		out[name] = dockercontainer.NetworkStats{RxBytes: n[0], RxPackets: n[1], RxErrors: n[2], RxDropped: n[3],
			TxBytes: n[8], TxPackets: n[9], TxErrors: n[10], TxDropped: n[11]}
	}
	return out
}
