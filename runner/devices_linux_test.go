package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lade-build/lade/internal/testutil"
)

// deviceModes runs f once per way device rules are enforced: the v1
// devices controller (where the host has one) and the cgroup v2 eBPF
// program (forced, where the host has cgroup2 mounted).
func deviceModes(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, mode := range []struct {
		name string
		bpf  bool
	}{{"v1", false}, {"bpf", true}} {
		t.Run(mode.name, func(t *testing.T) {
			if !mode.bpf && devicesV1Dir() == "" {
				t.Skip("no cgroup v1 devices hierarchy")
			}
			if mode.bpf && UnifiedCgroupDir(cgroupRoot) == "" {
				t.Skip("no cgroup v2 hierarchy")
			}
			deviceMode = mode.name
			t.Cleanup(func() { deviceMode = "" })
			f(t)
		})
	}
}

// openNode is a shell test opening a made node for reading: the open
// itself is what the device rules check.
const openNode = `mknod /tmp/k c 1 11 && : < /tmp/k && echo opened`

func TestDeviceRulesDenyByDefault(t *testing.T) {
	testutil.RequireRoot(t)
	deviceModes(t, func(t *testing.T) {
		r := run(t, baseSpec(newRootfs(t), "sh", "-c", openNode))
		if r.err != nil {
			t.Fatalf("run: %v", r.err)
		}
		if r.code == 0 || strings.Contains(r.stdout, "opened") {
			t.Fatalf("opened a made /dev/kmsg node: exit %d, stdout %q", r.code, r.stdout)
		}
		if !strings.Contains(r.stderr, "Operation not permitted") {
			t.Errorf("stderr %q, want EPERM from the open", r.stderr)
		}
	})
}

func TestDeviceRulesKeepStandardDevices(t *testing.T) {
	testutil.RequireRoot(t)
	deviceModes(t, func(t *testing.T) {
		script := `echo x > /dev/null && head -c 3 /dev/zero | wc -c && head -c 5 /dev/urandom | wc -c && ` +
			`head -c 2 /dev/random | wc -c && ! echo x 2>/dev/null > /dev/full && mknod /tmp/n c 1 3 && echo y > /tmp/n && echo ok`
		spec := baseSpec(newRootfs(t), "sh", "-c", script)
		r := run(t, spec)
		if r.err != nil || r.code != 0 || !strings.HasSuffix(r.stdout, "ok\n") {
			t.Fatalf("standard devices: %+v", r)
		}
		// A terminal needs ptmx and a pts node.
		spec = baseSpec(newRootfs(t), "sh", "-c", "tty && echo hi > /dev/tty")
		spec.Tty = true
		r = run(t, spec)
		if r.err != nil || r.code != 0 || !strings.Contains(r.stdout, "/dev/pts/") {
			t.Fatalf("terminal: %+v", r)
		}
	})
}

func TestDeviceRulesLifted(t *testing.T) {
	testutil.RequireRoot(t)
	deviceModes(t, func(t *testing.T) {
		spec := baseSpec(newRootfs(t), "sh", "-c", openNode)
		spec.AllDevices = true
		if r := run(t, spec); r.err != nil || r.code != 0 || r.stdout != "opened\n" {
			t.Errorf("AllDevices: %+v", r)
		}

		dev, err := HostDevice("/dev/kmsg", "/dev/kmsg", "r")
		if err != nil {
			t.Skip(err)
		}
		spec = baseSpec(newRootfs(t), "sh", "-c",
			`ls -ln /dev/kmsg && : < /dev/kmsg && echo read && echo x > /dev/kmsg || echo write denied`)
		spec.Devices = []Device{dev}
		r := run(t, spec)
		if r.err != nil || !strings.Contains(r.stdout, "read\nwrite denied\n") ||
			!strings.Contains(r.stderr, "Operation not permitted") || !strings.HasPrefix(r.stdout, "cr") {
			t.Errorf("--device /dev/kmsg:r: %+v", r)
		}
	})
}

// A step's cgroup is gone once Run returned.
func TestDeviceCgroupRemoved(t *testing.T) {
	testutil.RequireRoot(t)
	deviceModes(t, func(t *testing.T) {
		var dir string
		spec := baseSpec(newRootfs(t), "cat", "/proc/self/cgroup")
		r := run(t, spec)
		if r.err != nil || r.code != 0 {
			t.Fatalf("run: %+v", r)
		}
		for _, line := range strings.Split(r.stdout, "\n") {
			if i := strings.Index(line, "/lade/run-"); i >= 0 {
				dir = line[i:]
			}
		}
		if dir == "" {
			t.Fatalf("the command is in no lade/run- cgroup:\n%s", r.stdout)
		}
		base := devicesV1Dir()
		if deviceMode == "bpf" {
			base = UnifiedCgroupDir(cgroupRoot)
		}
		if _, err := os.Stat(filepath.Join(base, dir)); !os.IsNotExist(err) {
			t.Errorf("cgroup %s left behind: %v", filepath.Join(base, dir), err)
		}
	})
}

// BenchmarkDeviceCgroup is what device rules add to a RUN step: making
// the cgroup with its rules, then removing it.
func BenchmarkDeviceCgroup(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	for _, bpf := range []bool{false, true} {
		name := map[bool]string{false: "v1", true: "bpf"}[bpf]
		b.Run(name, func(b *testing.B) {
			if !bpf && devicesV1Dir() == "" || bpf && UnifiedCgroupDir(cgroupRoot) == "" {
				b.Skip("hierarchy missing")
			}
			deviceMode = name
			defer func() { deviceMode = "" }()
			for b.Loop() {
				dc, err := setupDeviceCgroup("", DefaultDeviceRules, "")
				if err != nil {
					b.Fatal(err)
				}
				if err := dc.remove(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A container's device rules share its cgroup v2 (where its limits are):
// a process has one cgroup per hierarchy. Run leaves that cgroup, which
// its caller made, in place.
func TestDeviceRulesInCallersV2Cgroup(t *testing.T) {
	testutil.RequireRoot(t)
	u := UnifiedCgroupDir(cgroupRoot)
	if u == "" {
		t.Skip("no cgroup v2 hierarchy")
	}
	deviceMode = "bpf"
	t.Cleanup(func() { deviceMode = "" })
	name := fmt.Sprintf("lade-runner-test-%d", os.Getpid())
	dir := filepath.Join(u, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(dir) })
	spec := baseSpec(newRootfs(t), "sh", "-c", "cat /proc/self/cgroup; "+openNode)
	spec.Cgroups, spec.DeviceCgroup = []string{dir}, name
	r := run(t, spec)
	if r.err != nil || r.code == 0 || !strings.Contains(r.stderr, "Operation not permitted") {
		t.Fatalf("run: %+v", r)
	}
	if !strings.Contains(r.stdout, "0::/"+name+"\n") {
		t.Errorf("the command's cgroups:\n%s\nwant 0::/%s", r.stdout, name)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the caller's cgroup is gone: %v", err)
	}
}

// A step cgroup whose lade was killed is swept by the next lade.
func TestStepCgroupSwept(t *testing.T) {
	testutil.RequireRoot(t)
	deviceModes(t, func(t *testing.T) {
		// A pid that cannot be a live process: beyond pid_max's ceiling.
		base, _ := deviceHierarchy()
		stale := filepath.Join(base, "lade", "run-4194305-1")
		if err := os.MkdirAll(stale, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Remove(stale) })
		sweepOnce = sync.Once{}
		if r := run(t, baseSpec(newRootfs(t), "true")); r.err != nil || r.code != 0 {
			t.Fatalf("run: %+v", r)
		}
		if _, err := os.Stat(stale); !os.IsNotExist(err) {
			t.Errorf("stale step cgroup %s not swept: %v", stale, err)
		}
	})
}
