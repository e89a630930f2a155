package container

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// LimitOptions are the cgroup flags beyond -m, --memory-swap, --cpus,
// --cpu-shares and --pids-limit, as typed (zero values: unset).
type LimitOptions struct {
	CPUPeriod, CPUQuota    int64 // microseconds
	CpusetCpus, CpusetMems string
	MemoryReservation      string // docker size
	MemorySwappiness       int64  // 0-100, -1 the host's
	BlkioWeight            uint16 // 10-1000
}

// apply lays l over r.
func (l LimitOptions) apply(r *Resources) error {
	r.CPUPeriod, r.CPUQuota = l.CPUPeriod, l.CPUQuota
	r.CpusetCpus, r.CpusetMems = l.CpusetCpus, l.CpusetMems
	r.BlkioWeight = l.BlkioWeight
	if l.MemorySwappiness != -1 {
		s := l.MemorySwappiness
		r.MemorySwappiness = &s
	}
	var err error
	r.MemoryReservation, err = reservationFlag(l.MemoryReservation)
	return err
}

// reservationFlag reads --memory-reservation ("" is unset).
func reservationFlag(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := ParseBytes(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid --memory-reservation %q", v)
	}
	return n, nil
}

// checkLimits applies docker's rules to r's limits.
func checkLimits(r Resources) error {
	if r.CPUs < 0 || r.CPUShares < 0 {
		return errors.New("--cpus and --cpu-shares must not be negative")
	}
	if r.CPUs > 0 && (r.CPUPeriod != 0 || r.CPUQuota != 0) {
		return errors.New("conflicting options: --cpus and --cpu-period/--cpu-quota cannot both be set")
	}
	if r.CPUPeriod != 0 && (r.CPUPeriod < 1000 || r.CPUPeriod > 1000000) {
		return errors.New("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
	}
	if r.CPUQuota != 0 && r.CPUQuota != -1 && r.CPUQuota < 1000 {
		return errors.New("CPU cfs quota can not be less than 1ms (i.e. 1000)")
	}
	if s := r.MemorySwappiness; s != nil && (*s < 0 || *s > 100) {
		return fmt.Errorf("invalid value: %d, valid memory swappiness range is 0-100", *s)
	}
	if r.BlkioWeight != 0 && (r.BlkioWeight < 10 || r.BlkioWeight > 1000) {
		return errors.New("range of blkio weight is from 10 to 1000")
	}
	if r.Memory > 0 && r.MemoryReservation > r.Memory {
		return errors.New("minimum memory limit can not be less than memory reservation limit, see usage")
	}
	for _, l := range []string{r.CpusetCpus, r.CpusetMems} {
		if !validCpuset(l) {
			return fmt.Errorf("invalid cpuset value %q", l)
		}
	}
	return nil
}

// validCpuset says whether l is "" or a list of N and N-M.
func validCpuset(l string) bool {
	if l == "" {
		return true
	}
	for _, part := range strings.Split(l, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.ParseUint(lo, 10, 32)
		b, err2 := strconv.ParseUint(hi, 10, 32)
		if err1 != nil || isRange && (err2 != nil || b < a) {
			return false
		}
	}
	return true
}

// limitWants are the files of r's limits beyond memoryWants' and
// resourceWants'.
func limitWants(r Resources) []want {
	var wants []want
	if r.CPUPeriod != 0 || r.CPUQuota != 0 {
		period := strconv.FormatInt(max(r.CPUPeriod, 0), 10)
		if r.CPUPeriod == 0 {
			period = "100000"
		}
		q1, q2 := strconv.FormatInt(r.CPUQuota, 10), strconv.FormatInt(r.CPUQuota, 10)
		if r.CPUQuota <= 0 {
			q1, q2 = "-1", "max"
		}
		wants = append(wants, want{ctrl: "cpu", v2: [][2]string{{"cpu.max", q2 + " " + period}},
			v1: [][2]string{{"cpu.cfs_period_us", period}, {"cpu.cfs_quota_us", q1}}, v1Dir: "cpu"})
	}
	if r.CpusetCpus != "" || r.CpusetMems != "" {
		var files [][2]string
		for _, f := range [][2]string{{"cpuset.cpus", r.CpusetCpus}, {"cpuset.mems", r.CpusetMems}} {
			if f[1] != "" {
				files = append(files, f)
			}
		}
		wants = append(wants, want{ctrl: "cpuset", v2: files, v1: files, v1Dir: "cpuset"})
	}
	var mem1, mem2 [][2]string
	if r.MemoryReservation > 0 {
		n := strconv.FormatInt(r.MemoryReservation, 10)
		mem2 = append(mem2, [2]string{"memory.low", n})
		mem1 = append(mem1, [2]string{"memory.soft_limit_in_bytes", n})
	}
	if s := r.MemorySwappiness; s != nil {
		mem1 = append(mem1, [2]string{"memory.swappiness", strconv.FormatInt(*s, 10)})
	}
	if mem1 != nil {
		wants = append(wants, want{ctrl: "memory", v2: mem2, v1: mem1, v1Dir: "memory"})
	}
	if r.BlkioWeight > 0 {
		// cgroup v2's io.weight from v1's blkio.weight, as runc maps them.
		w2 := strconv.FormatUint(1+(uint64(r.BlkioWeight)-10)*9999/990, 10)
		wants = append(wants, want{ctrl: "io", v2: [][2]string{{"io.weight", w2}},
			v1: [][2]string{{"blkio.weight", strconv.Itoa(int(r.BlkioWeight))}}, v1Dir: "blkio", needs: "blkio.weight"})
	}
	return wants
}
