package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cgroupRoot is where cgroupfs is mounted; a variable for tests.
var cgroupRoot = "/sys/fs/cgroup"

// deviceMode, for tests, forces device rules onto one path: "v1" (the
// devices controller) or "bpf" (an eBPF program on cgroup v2); "" picks.
var deviceMode = ""

// UnifiedCgroupDir returns the cgroup2 mount under root: root itself on
// pure v2 hosts, root/unified on hybrid ones, "" when there is none.
func UnifiedCgroupDir(root string) string {
	for _, d := range []string{root, filepath.Join(root, "unified")} {
		if _, err := os.Stat(filepath.Join(d, "cgroup.controllers")); err == nil {
			return d
		}
	}
	return ""
}

// devicesV1Dir returns the v1 devices hierarchy, or "" without one.
func devicesV1Dir() string {
	d := filepath.Join(cgroupRoot, "devices")
	if _, err := os.Stat(filepath.Join(d, "devices.allow")); err != nil {
		return ""
	}
	return d
}

// deviceCgroup is the cgroup the init joins for its device rules.
type deviceCgroup struct {
	dir     string
	created bool // made by us, so removed by us
	// clone: a v2 cgroup of the rules alone, which the init is cloned
	// straight into. A caller's v2 cgroup (a container's limits) is
	// joined only once the init has its spec, to keep lade's start off
	// its memory charge.
	clone bool
}

// cloneInto reports whether an init can be cloned straight into dc.
func (dc *deviceCgroup) cloneInto() bool { return dc != nil && dc.clone }

// stepDevicesOnV2 reports whether a step's device cgroup goes to v2.
func stepDevicesOnV2() bool {
	_, v2 := deviceHierarchy()
	return v2
}

// deviceHierarchy picks where device rules go: the v1 devices hierarchy
// or the v2 one (v2 true), and returns its root ("" when neither).
// Where both exist (hybrid hosts), v2 wins: an init is cloned into its
// v2 cgroup (CLONE_INTO_CGROUP), and so is a command exec'd into a
// container, while joining a v1 devices cgroup moved the init after its
// start and cost it 10-15 ms here.
func deviceHierarchy() (string, bool) {
	v1, u := devicesV1Dir(), UnifiedCgroupDir(cgroupRoot)
	v2 := u != ""
	switch deviceMode {
	case "v1":
		v2 = false
	case "bpf":
		v2 = true
	}
	if v2 {
		return u, true
	}
	return v1, false
}

// defaultDevices reports whether spec wants a step cgroup with the
// default rules alone.
func defaultDevices(spec *Spec, cfg *initConfig) bool {
	return !spec.AllDevices && len(spec.Devices) == 0 && spec.DeviceCgroup == "" && v2Cgroup(cfg.Cgroups) == ""
}

var deviceCgroupSeq atomic.Uint64

// setupDeviceCgroup makes cgroup name (relative to the hierarchy roots;
// "" for a fresh one per run) enforce rules: through the v1 devices
// controller where there is one, else with an eBPF program attached to
// the v2 cgroup. inV2 is a v2 cgroup the init joins anyway (a
// container's limits): a process has one cgroup per hierarchy, so the
// program goes there.
func setupDeviceCgroup(name string, rules []DeviceRule, inV2 string) (*deviceCgroup, error) {
	named := name != ""
	base, v2 := deviceHierarchy()
	if base == "" {
		return nil, errors.New("device rules: neither a cgroup v1 devices hierarchy nor cgroup v2 is mounted")
	}
	if !named {
		sweepOnce.Do(func() { sweepStepCgroups(filepath.Join(base, "lade")) })
		name = fmt.Sprintf("lade/run-%d-%d", os.Getpid(), deviceCgroupSeq.Add(1))
	}
	dc := &deviceCgroup{dir: filepath.Join(base, name), clone: v2}
	if v2 && inV2 != "" {
		dc.dir, dc.clone = inV2, false
	}
	if err := os.Mkdir(dc.dir, 0o755); err == nil {
		dc.created = true
	} else if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dc.dir, 0o755); err != nil {
			return nil, fmt.Errorf("device rules: %w", err)
		}
		dc.created = true
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("device rules: %w", err)
	}
	apply := writeDeviceRulesV1
	if v2 {
		apply = attachDeviceProgram
	}
	if err := apply(dc.dir, rules); err != nil {
		dc.remove()
		return nil, fmt.Errorf("device rules for cgroup %s: %w", dc.dir, err)
	}
	return dc, nil
}

var sweepOnce sync.Once

// sweepStepCgroups removes the step cgroups a killed lade left in dir:
// those named after a process that is gone (empty by then, as their pid
// namespaces died with their inits).
func sweepStepCgroups(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		var pid, n int
		if _, err := fmt.Sscanf(e.Name(), "run-%d-%d", &pid, &n); err != nil || !e.IsDir() {
			continue
		}
		if errors.Is(unix.Kill(pid, 0), unix.ESRCH) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// remove deletes a cgroup setupDeviceCgroup created, once it is empty
// (the init and its pid namespace are gone when Run gets here).
func (dc *deviceCgroup) remove() error {
	if dc == nil || !dc.created {
		return nil
	}
	var err error
	for i := range 50 {
		if err = os.Remove(dc.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(time.Duration(i+1) * time.Millisecond)
	}
	return fmt.Errorf("removing cgroup: %w", err)
}

// writeDeviceRulesV1 programs the v1 devices controller: an 'a' rule
// resets the list, the others add to or take from it.
func writeDeviceRulesV1(dir string, rules []DeviceRule) error {
	if err := checkRules(rules); err != nil {
		return err
	}
	allow, err := os.OpenFile(filepath.Join(dir, "devices.allow"), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer allow.Close()
	deny, err := os.OpenFile(filepath.Join(dir, "devices.deny"), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer deny.Close()
	for _, r := range rules {
		f := deny
		if r.Allow {
			f = allow
		}
		// One rule per write, as the controller parses them.
		if _, err := f.WriteString(r.v1Line()); err != nil {
			return fmt.Errorf("%s %q: %w", filepath.Base(f.Name()), r.v1Line(), err)
		}
	}
	return nil
}

// bpfProgLoadAttr is the BPF_PROG_LOAD part of union bpf_attr.
type bpfProgLoadAttr struct {
	progType    uint32
	insnCnt     uint32
	insns       uint64
	license     uint64
	logLevel    uint32
	logSize     uint32
	logBuf      uint64
	kernVersion uint32
	progFlags   uint32
	progName    [16]byte
}

// bpfProgAttachAttr is the BPF_PROG_ATTACH part of union bpf_attr.
type bpfProgAttachAttr struct {
	targetFd    uint32
	attachBpfFd uint32
	attachType  uint32
	attachFlags uint32
}

// attachDeviceProgram loads rules as a cgroup device program and attaches
// it to dir. BPF_F_ALLOW_MULTI lets it stack with programs above (all
// must allow); the attachment keeps the program alive until the cgroup
// is removed.
func attachDeviceProgram(dir string, rules []DeviceRule) error {
	fd, err := deviceProgramFd(rules)
	if err != nil {
		return err
	}
	cg, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(cg)
	attr := bpfProgAttachAttr{targetFd: uint32(cg), attachBpfFd: uint32(fd),
		attachType: unix.BPF_CGROUP_DEVICE, attachFlags: unix.BPF_F_ALLOW_MULTI}
	if _, _, e := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_ATTACH, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr)); e != 0 {
		return fmt.Errorf("attach device program: %w", e)
	}
	return nil
}

// loadedPrograms keeps each device program this process loaded, by its
// code: loading (the verifier) costs more than half a millisecond, an
// attachment of a loaded one a few microseconds, and a build's steps all
// use the same program. The fds are close-on-exec and live as long as lade.
var loadedPrograms struct {
	sync.Mutex
	fds map[string]int
}

// deviceProgramFd returns the loaded program enforcing rules.
func deviceProgramFd(rules []DeviceRule) (int, error) {
	prog, err := deviceProgram(rules)
	if err != nil {
		return -1, err
	}
	code, err := encodeProgram(prog)
	if err != nil {
		return -1, err
	}
	loadedPrograms.Lock()
	defer loadedPrograms.Unlock()
	if fd, ok := loadedPrograms.fds[string(code)]; ok {
		return fd, nil
	}
	fd, err := loadDeviceProgram(prog)
	if err != nil {
		return -1, err
	}
	if loadedPrograms.fds == nil {
		loadedPrograms.fds = map[string]int{}
	}
	loadedPrograms.fds[string(code)] = fd
	return fd, nil
}

// loadDeviceProgram loads prog and returns its fd; when the verifier
// refuses it, the error carries the verifier's log.
func loadDeviceProgram(prog []bpfInsn) (int, error) {
	code, err := encodeProgram(prog)
	if err != nil {
		return -1, err
	}
	license := []byte("Apache\x00")
	load := func(log []byte) (int, error) {
		attr := bpfProgLoadAttr{
			progType: unix.BPF_PROG_TYPE_CGROUP_DEVICE,
			insnCnt:  uint32(len(prog)),
			insns:    uint64(uintptr(unsafe.Pointer(&code[0]))),
			license:  uint64(uintptr(unsafe.Pointer(&license[0]))),
		}
		copy(attr.progName[:], "lade_devices")
		if len(log) > 0 {
			attr.logLevel, attr.logSize, attr.logBuf = 1, uint32(len(log)), uint64(uintptr(unsafe.Pointer(&log[0])))
		}
		fd, _, e := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_LOAD, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
		runtime.KeepAlive(code)
		runtime.KeepAlive(license)
		runtime.KeepAlive(log)
		if e != 0 {
			return -1, e
		}
		unix.CloseOnExec(int(fd))
		return int(fd), nil
	}
	fd, err := load(nil)
	if errors.Is(err, unix.EPERM) {
		// Kernels before 5.11 charge programs to RLIMIT_MEMLOCK.
		lim := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
		if unix.Setrlimit(unix.RLIMIT_MEMLOCK, &lim) == nil {
			fd, err = load(nil)
		}
	}
	if err == nil {
		return fd, nil
	}
	log := make([]byte, 64<<10)
	if _, lerr := load(log); lerr != nil {
		if msg := strings.TrimSpace(string(log[:max(0, strings.IndexByte(string(log), 0))])); msg != "" {
			return -1, fmt.Errorf("load device program: %w: %s", err, msg)
		}
	}
	return -1, fmt.Errorf("load device program: %w", err)
}

// DeviceFromFlag is the Device of docker's --device
// HOST[:CONTAINER[:PERMS]] flag, read from the host's node.
func DeviceFromFlag(s string) (Device, error) {
	host, ctr, perms, err := ParseDeviceFlag(s)
	if err != nil {
		return Device{}, err
	}
	return HostDevice(host, ctr, perms)
}

// HostDevice describes the host's device node at host for the container
// path ctr with access, as `--device` gives it: same numbers, mode and
// owner.
func HostDevice(host, ctr, access string) (Device, error) {
	var st unix.Stat_t
	if err := unix.Stat(host, &st); err != nil {
		return Device{}, fmt.Errorf("device %s: %w", host, err)
	}
	d := Device{Path: ctr, Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)),
		Mode: st.Mode & 0o7777, UID: st.Uid, GID: st.Gid, Access: access}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		d.Type = 'c'
	case unix.S_IFBLK:
		d.Type = 'b'
	default:
		return Device{}, fmt.Errorf("device %s: not a character or block device", host)
	}
	return d, checkDevice(d)
}

// createDevice makes d's node in the container (the init is in its
// device cgroup already, which allows mknod of any node). A path that
// exists already, such as a standard /dev node, is left as it is.
func createDevice(root string, d Device) error {
	parent, err := target(root, filepath.Dir(d.Path), false)
	if err != nil {
		return err
	}
	p := filepath.Join(parent, filepath.Base(d.Path))
	if _, err := os.Lstat(p); err == nil {
		return nil
	}
	mode := uint32(unix.S_IFCHR)
	if d.Type == 'b' {
		mode = unix.S_IFBLK
	}
	if err := unix.Mknod(p, mode|d.Mode&0o7777, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))); err != nil {
		return fmt.Errorf("create device %s: %w", d.Path, err)
	}
	// mknod applies the umask; the node gets the host's mode and owner.
	if err := unix.Chmod(p, d.Mode&0o7777); err != nil {
		return fmt.Errorf("create device %s: %w", d.Path, err)
	}
	if err := unix.Lchown(p, int(d.UID), int(d.GID)); err != nil {
		return fmt.Errorf("create device %s: %w", d.Path, err)
	}
	return nil
}

// checkDevices checks each --device before anything starts.
func checkDevices(devices []Device) error {
	for _, d := range devices {
		if err := checkDevice(d); err != nil {
			return fmt.Errorf("runner: %w", err)
		}
	}
	return nil
}
