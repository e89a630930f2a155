package sysinfo

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/moby/moby/api/types/system"
	"golang.org/x/sys/unix"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/internal/userns"
	"github.com/lade-build/lade/runner"
	"github.com/lade-build/lade/snapshot"
)

// Stores are what Collect counts, all under Root.
type Stores struct {
	Root       string
	Containers *container.Store
	Images     *images.Store
	Snapshots  *snapshot.Snapshotter
}

// Collect fills docker's Info with what holds for lade: its containers
// and images, how it stores snapshots and limits containers, and the
// host. Fields about a daemon, swarm or plugins stay zero.
func Collect(ctx context.Context, s Stores) (system.Info, error) {
	ver, rev, _ := Build()
	info := system.Info{
		Driver:             s.Snapshots.Driver(),
		DockerRootDir:      s.Root,
		ServerVersion:      ver,
		LoggingDriver:      "json-file",
		CgroupDriver:       "cgroupfs",
		OSType:             runtime.GOOS,
		OperatingSystem:    osName(),
		NCPU:               runtime.NumCPU(),
		MemTotal:           memTotal(),
		SystemTime:         time.Now().Format(time.RFC3339Nano),
		NGoroutines:        runtime.NumGoroutine(),
		IndexServerAddress: "https://index.docker.io/v1/",
		DefaultRuntime:     "lade",
		Runtimes:           map[string]system.RuntimeWithStatus{"lade": {}},
		SecurityOptions:    securityOptions(),
		HTTPProxy:          os.Getenv("HTTP_PROXY"),
		HTTPSProxy:         os.Getenv("HTTPS_PROXY"),
		NoProxy:            os.Getenv("NO_PROXY"),
	}
	info.RuncCommit.ID, info.ContainerdCommit.ID = rev, rev
	info.Name, _ = os.Hostname()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		info.Architecture = unix.ByteSliceToString(u.Machine[:])
	}
	info.KernelVersion = Kernel()
	cgroups(&info)
	if err := countContainers(&info, s.Containers); err != nil {
		return info, err
	}
	imgs, err := s.Images.List(ctx)
	info.Images = len(imgs)
	return info, err
}

// countContainers counts by status; a paused container counts as paused.
func countContainers(info *system.Info, cs *container.Store) error {
	list, err := cs.List()
	if err != nil {
		return err
	}
	info.Containers = len(list)
	for _, c := range list {
		switch c.State.Status {
		case container.StatusRunning, container.StatusRestarting:
			info.ContainersRunning++
		case "paused":
			info.ContainersPaused++
		default:
			info.ContainersStopped++
		}
	}
	return nil
}

// cgroups reports the cgroup version and the limits lade can set.
func cgroups(info *system.Info) {
	info.CgroupVersion = "1"
	dir := runner.UnifiedCgroupDir("/sys/fs/cgroup")
	ctrl, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if dir == "/sys/fs/cgroup" && err == nil {
		info.CgroupVersion = "2"
	}
	have := func(name string) bool {
		if info.CgroupVersion == "2" {
			return strings.Contains(" "+string(ctrl)+" ", " "+name+" ")
		}
		_, err := os.Stat(filepath.Join("/sys/fs/cgroup", name))
		return err == nil
	}
	info.MemoryLimit, info.SwapLimit = have("memory"), have("memory")
	info.CPUCfsPeriod, info.CPUCfsQuota, info.CPUShares = have("cpu"), have("cpu"), have("cpu")
	info.CPUSet, info.PidsLimit = have("cpuset"), have("pids")
}

// securityOptions are docker's names for what confines lade's containers.
func securityOptions() []string {
	opts := []string{"name=seccomp,profile=builtin"}
	if userns.Rootless() {
		opts = append(opts, "name=rootless")
	}
	return opts
}

// osName is /etc/os-release's PRETTY_NAME, as docker shows it.
func osName() string {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return runtime.GOOS
}

func memTotal() int64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}
