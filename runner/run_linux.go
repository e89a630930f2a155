package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/lade-build/lade/runner/binfmt"
	"github.com/lade-build/lade/runner/caps"
	"github.com/lade-build/lade/runner/seccomp"
	"golang.org/x/sys/unix"
)

// initConfig is what the parent sends the container init over its pipe.
type initConfig struct {
	Rootfs   string            `json:"rootfs"`
	Args     []string          `json:"args"`
	Env      []string          `json:"env"`
	Cwd      string            `json:"cwd"`
	UID      uint32            `json:"uid"`
	GID      uint32            `json:"gid"`
	Groups   []uint32          `json:"groups,omitempty"`
	Hostname string            `json:"hostname,omitempty"`
	Domain   string            `json:"domainname,omitempty"`
	OOMScore *int              `json:"oomScoreAdj,omitempty"`
	NewNet   bool              `json:"newNet,omitempty"`
	NetNS    string            `json:"netNS,omitempty"` // joined instead of a new one
	Mounts   []initMount       `json:"mounts,omitempty"`
	Security security          `json:"security"`
	Tty      bool              `json:"tty,omitempty"`
	TtySize  WindowSize        `json:"ttySize,omitzero"`
	Init     bool              `json:"init,omitempty"`
	Cgroups  []string          `json:"cgroups,omitempty"`
	CgroupNS bool              `json:"cgroupNS,omitempty"`
	Devices  []Device          `json:"devices,omitempty"`
	ShmSize  int64             `json:"shmSize,omitempty"`
	Rlimits  []Rlimit          `json:"rlimits,omitempty"`
	Sysctls  map[string]string `json:"sysctls,omitempty"`

	// initArgv, set by the init itself, runs its /dev/init.
	initArgv []string
}

// initMount is a validated Mount with its options already parsed.
type initMount struct {
	Type     string  `json:"type"`
	Source   string  `json:"source,omitempty"`
	Target   string  `json:"target"`
	Flags    uintptr `json:"flags"`
	Data     string  `json:"data,omitempty"`
	ReadOnly bool    `json:"readOnly,omitempty"`
	IsFile   bool    `json:"isFile,omitempty"`
	// A "file" mount's content and owner.
	Content  []byte `json:"content,omitempty"`
	FileMode uint32 `json:"fileMode,omitempty"`
	UID      int    `json:"uid,omitempty"`
	GID      int    `json:"gid,omitempty"`
}

// Run starts the process described by spec, waits for it and returns its
// exit status (128+signal when killed by a signal). err is non-nil only when
// lade failed to set the container up, or when ctx was cancelled, in which
// case the whole pid namespace is killed and ctx.Err() is returned.
func (r *Runner) Run(ctx context.Context, spec *Spec) (exitCode int, err error) {
	cfg, err := prepare(spec)
	if err != nil {
		return -1, err
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}

	stubs := &stubSet{root: cfg.Rootfs}
	defer func() {
		if spec.KeepMountTargets {
			return
		}
		if cerr := stubs.remove(); cerr != nil && err == nil {
			exitCode, err = -1, cerr
		}
	}()
	for _, t := range standardTargets {
		if err := stubs.create(t, false); err != nil {
			return -1, err
		}
	}
	for _, m := range cfg.Mounts {
		if err := stubs.create(m.Target, m.IsFile); err != nil {
			return -1, err
		}
	}
	return r.start(ctx, spec, cfg)
}

// start launches the init (or takes the one Launch started, or a spare),
// feeds it cfg and waits for it.
func (r *Runner) start(ctx context.Context, spec *Spec, cfg *initConfig) (int, error) {
	if p := r.takeLaunched(spec); p != nil {
		code, _, err := r.runConfined(ctx, spec, cfg, p)
		return code, err
	}
	spare := r.takeSpare(spec, cfg)
	if r.Prestart {
		// Started now, the next step's spare overlaps this step.
		r.Warm()
	}
	if p := spare; p != nil {
		code, dead, err := r.runConfined(ctx, spec, cfg, p)
		if !dead {
			return code, err
		}
		// The spare died before it read the spec (killed from outside,
		// say): the step gets a fresh init rather than that error.
	}
	code, _, err := r.runConfined(ctx, spec, cfg, nil)
	return code, err
}

// runConfined runs cfg in init p (nil: a fresh one) under spec's device
// rules. p may sit in its device cgroup already (cloned into it); a
// spare without one gets one now, which it joins with its spec.
func (r *Runner) runConfined(ctx context.Context, spec *Spec, cfg *initConfig, p *proc) (code int, dead bool, err error) {
	if p == nil {
		if p, err = r.launchFor(spec); err != nil {
			return -1, false, err
		}
	} else if p.dc == nil && !spec.AllDevices && deviceCgroups() {
		dc, err := setupDeviceCgroup(spec.DeviceCgroup, deviceRules(spec.Devices), v2Cgroup(cfg.Cgroups))
		if err != nil {
			p.discard()
			return -1, false, fmt.Errorf("runner: %w", err)
		}
		p.dc = dc
	}
	defer func() {
		if derr := p.dc.remove(); derr != nil && err == nil && !dead {
			code, err = -1, fmt.Errorf("runner: %w", derr)
		}
	}()
	return r.runInit(ctx, spec, placedIn(cfg, p.dc), p)
}

// placedIn is cfg with the cgroups the init joins once it has it: dc
// too, unless the init was cloned into it (then not even as one of the
// caller's, which would move it again).
func placedIn(cfg *initConfig, dc *deviceCgroup) *initConfig {
	if dc == nil || slices.Contains(cfg.Cgroups, dc.dir) != dc.cloneInto() {
		return cfg
	}
	c := *cfg
	if dc.cloneInto() {
		c.Cgroups = slices.DeleteFunc(slices.Clone(cfg.Cgroups), func(d string) bool { return d == dc.dir })
	} else {
		c.Cgroups = append(slices.Clip(cfg.Cgroups), dc.dir)
	}
	return &c
}

// runInit feeds a started init its spec and waits for it. dead reports an
// init that was gone before it could read the spec.
func (r *Runner) runInit(ctx context.Context, spec *Spec, cfg *initConfig, p *proc) (code int, dead bool, err error) {
	defer p.close()
	payload, err := json.Marshal(cfg)
	if err != nil {
		p.kill()
		<-p.exited
		return -1, false, fmt.Errorf("runner: encode init config: %w", err)
	}
	w := watchInit(p, spec.Stdout)
	// SIGKILL to the namespace's pid 1 takes every process in it down.
	stopKill := context.AfterFunc(ctx, p.kill)
	defer stopKill()
	con, werr, err := w.handOver(spec, cfg.Tty, payload)
	if err != nil {
		return -1, false, err
	}
	st := readInitStatus(p.statR)
	if st.execed() && spec.Running != nil {
		if err := spec.Running(p.cmd.Process.Pid); err != nil {
			w.stop()
			if con != nil {
				con.finish(0)
			}
			return -1, false, fmt.Errorf("runner: %w", err)
		}
	}
	waitErr := w.wait()
	if con != nil {
		// The pid namespace is gone, so every slave fd is closed.
		con.finish(0)
	}
	return w.outcome(ctx, st, werr, waitErr)
}

// initWatch follows a started init and the copy of a spare's output.
type initWatch struct {
	p      *proc
	copied chan struct{} // closed once a spare's output is copied; nil for others
}

// watchInit starts copying a spare's output, which comes through its own
// pipe, to stdout.
func watchInit(p *proc, stdout io.Writer) *initWatch {
	w := &initWatch{p: p}
	if p.out != nil {
		w.copied = make(chan struct{})
		go func() {
			defer close(w.copied)
			dst := stdout
			if dst == nil {
				dst = io.Discard
			}
			_, _ = io.Copy(dst, p.out)
		}()
	}
	return w
}

// wait waits for the init to end and its output to be copied.
func (w *initWatch) wait() error {
	err := <-w.p.exited
	if w.copied != nil {
		<-w.copied
	}
	return err
}

// stop kills the init and waits for it.
func (w *initWatch) stop() {
	w.p.kill()
	_ = w.wait()
}

// handOver tells spec.Started, writes the config to the init and, with a
// terminal, takes the master the init sends back. werr is a failed write:
// the init died early, and its status says why.
func (w *initWatch) handOver(spec *Spec, tty bool, payload []byte) (con *console, werr, err error) {
	p := w.p
	if spec.Started != nil {
		// The init blocks reading its config, so nothing ran yet.
		if err := spec.Started(p.cmd.Process.Pid); err != nil {
			w.stop()
			return nil, nil, fmt.Errorf("runner: %w", err)
		}
	}
	_, werr = p.cfgW.Write(payload)
	p.cfgW.Close()
	if !tty || werr != nil {
		return nil, werr, nil
	}
	master, err := recvFd(p.ttyParent)
	if err != nil {
		w.stop()
		return nil, werr, fmt.Errorf("runner: %w", err)
	}
	if master != nil {
		if spec.Console != nil {
			spec.Console(master)
		}
		con = startConsole(master, spec.Stdin, spec.Stdout)
	}
	return con, werr, nil
}

// initStatus is what the init's status pipe said: EOF arrives when the
// init execs (the fd is close-on-exec) or exits.
type initStatus struct {
	gotSpec bool   // the init read its whole config
	msg     []byte // its setup error, if any
	readErr error
}

func readInitStatus(r io.Reader) initStatus {
	status, rerr := io.ReadAll(r)
	gotSpec := len(status) > 0 && status[0] == initGotSpec
	if gotSpec {
		status = status[1:]
	}
	return initStatus{gotSpec: gotSpec, msg: status, readErr: rerr}
}

// execed reports whether the init got as far as execve.
func (s initStatus) execed() bool { return s.gotSpec && len(s.msg) == 0 && s.readErr == nil }

// outcome turns how the init ended into runInit's result.
func (w *initWatch) outcome(ctx context.Context, st initStatus, werr, waitErr error) (code int, dead bool, err error) {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return -1, false, ctxErr
	}
	if st.readErr != nil {
		return -1, false, fmt.Errorf("runner: read init status: %w", st.readErr)
	}
	if len(st.msg) > 0 {
		return -1, false, fmt.Errorf("runner: container init: %s", strings.TrimSpace(string(st.msg)))
	}
	p := w.p
	if !st.gotSpec {
		// Nothing of the spec ran: the init was gone before it had it.
		why := p.cmd.ProcessState.String()
		if werr != nil {
			why = fmt.Sprintf("%v (%s)", werr, why)
		}
		return -1, p.out != nil, fmt.Errorf("runner: container init ended before it read its config: %s", why)
	}
	code, err = exitStatus(p.cmd, waitErr)
	if err != nil {
		return -1, false, err
	}
	return code, false, nil
}

// exitStatus turns Wait's result into a shell-style exit code.
func exitStatus(cmd *exec.Cmd, waitErr error) (int, error) {
	var ee *exec.ExitError
	if errors.Is(waitErr, exec.ErrWaitDelay) {
		waitErr = nil // output cut off after the command's end: not a failure
	}
	if waitErr != nil && !errors.As(waitErr, &ee) {
		return -1, fmt.Errorf("runner: wait for container: %w", waitErr)
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok {
		return cmd.ProcessState.ExitCode(), nil
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// prepare validates spec and turns it into the init's config.
func prepare(spec *Spec) (*initConfig, error) {
	if spec == nil {
		return nil, errors.New("runner: nil spec")
	}
	if len(spec.Args) == 0 || spec.Args[0] == "" {
		return nil, errors.New("runner: spec has no command")
	}
	if !filepath.IsAbs(spec.Rootfs) {
		return nil, fmt.Errorf("runner: rootfs %q is not absolute", spec.Rootfs)
	}
	rootfs, err := filepath.EvalSymlinks(spec.Rootfs)
	if err != nil {
		return nil, fmt.Errorf("runner: rootfs: %w", err)
	}
	if fi, err := os.Stat(rootfs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("runner: rootfs %q is not a directory", spec.Rootfs)
	}
	if !filepath.IsAbs(spec.Cwd) {
		return nil, fmt.Errorf("runner: cwd %q is not absolute", spec.Cwd)
	}
	if spec.Platform != nil {
		if err := binfmt.Prepare(*spec.Platform); err != nil {
			return nil, fmt.Errorf("runner: %w", err)
		}
	}
	switch spec.Network {
	case NetworkHost, NetworkNone:
	default:
		return nil, fmt.Errorf("runner: unknown network mode %d", spec.Network)
	}
	cfg := &initConfig{
		Rootfs:   rootfs,
		Args:     spec.Args,
		Env:      spec.Env,
		Cwd:      spec.Cwd,
		UID:      spec.UID,
		GID:      spec.GID,
		Groups:   spec.AdditionalGIDs,
		Hostname: spec.Hostname,
		Domain:   spec.Domainname,
		OOMScore: spec.OOMScoreAdj,
		NewNet:   spec.Network == NetworkNone,
		NetNS:    spec.NetNS,
		Tty:      spec.Tty,
		TtySize:  spec.TtySize,
		Init:     spec.Init,
		Cgroups:  spec.Cgroups,
		CgroupNS: spec.CgroupNS,
		Devices:  spec.Devices,
		Security: security{
			ReadonlyRootfs:  spec.ReadonlyRootfs,
			MaskedPaths:     spec.MaskedPaths,
			ReadonlyPaths:   spec.ReadonlyPaths,
			NoNewPrivileges: spec.NoNewPrivileges,
		},
	}
	if spec.HostUTS {
		cfg.Hostname, cfg.Domain = "", "" // never rename the host
	}
	if spec.Capabilities != nil {
		set, err := caps.Set(spec.Capabilities)
		if err != nil {
			return nil, fmt.Errorf("runner: %w", err)
		}
		cfg.Security.LimitCaps, cfg.Security.Caps = true, set
	}
	if cfg.Security.Seccomp, err = seccomp.Compile(spec.Seccomp, cfg.Security.kept()); err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	if cfg.Env == nil {
		cfg.Env = []string{}
	}
	cfg.ShmSize, cfg.Rlimits, cfg.Sysctls = spec.ShmSize, spec.Rlimits, spec.Sysctls
	if err := checkDevices(spec.Devices); err != nil {
		return nil, err
	}
	for i, m := range spec.Mounts {
		im, err := parseMount(m)
		if err != nil {
			return nil, fmt.Errorf("runner: mount %d (%s): %w", i, m.Target, err)
		}
		cfg.Mounts = append(cfg.Mounts, im)
	}
	return cfg, nil
}

// deviceRules is docker's default list plus the rules allowing devs.
func deviceRules(devs []Device) []DeviceRule {
	rules := slices.Clone(DefaultDeviceRules)
	for _, d := range devs {
		rules = append(rules, d.Rule())
	}
	return rules
}

// v2Cgroup returns the one of dirs in the cgroup v2 hierarchy, if any.
func v2Cgroup(dirs []string) string {
	u := UnifiedCgroupDir(cgroupRoot)
	for _, d := range dirs {
		if u != "" && strings.HasPrefix(d, u+"/") {
			return d
		}
	}
	return ""
}

// parseMount validates m and parses its options into mount flags and data.
func parseMount(m Mount) (initMount, error) {
	im := initMount{Type: m.Type, Source: m.Source, Target: filepath.Clean(m.Target)}
	if m.Type == "file" {
		im.FileMode = 0o400
	}
	if !filepath.IsAbs(m.Target) {
		return im, errors.New("target is not absolute")
	}
	if im.Target == "/" {
		return im, errors.New("cannot mount over the container root")
	}
	var data []string
	for _, o := range m.Options {
		switch o {
		case "ro":
			im.ReadOnly = true
		case "rw":
			im.ReadOnly = false
		case "nosuid":
			im.Flags |= unix.MS_NOSUID
		case "nodev":
			im.Flags |= unix.MS_NODEV
		case "noexec":
			im.Flags |= unix.MS_NOEXEC
		case "bind", "rbind", "":
			// bind mounts are always recursive
		default:
			if m.Type == "file" {
				if err := im.fileOption(o); err != nil {
					return im, err
				}
				continue
			}
			if m.Type != "tmpfs" || !strings.Contains(o, "=") {
				return im, fmt.Errorf("unsupported option %q", o)
			}
			data = append(data, o)
		}
	}
	switch m.Type {
	case "bind":
		if !filepath.IsAbs(m.Source) {
			return im, fmt.Errorf("bind source %q is not absolute", m.Source)
		}
		fi, err := os.Stat(m.Source)
		if err != nil {
			return im, fmt.Errorf("bind source: %w", err)
		}
		im.IsFile = !fi.IsDir()
	case "tmpfs":
		im.Source = "tmpfs"
		im.Flags |= unix.MS_NOSUID | unix.MS_NODEV
		im.Data = strings.Join(data, ",")
	case "file":
		im.Source, im.IsFile, im.Content = "", true, m.Data
	default:
		return im, fmt.Errorf("unsupported mount type %q", m.Type)
	}
	return im, nil
}

// fileOption parses a "file" mount's mode=, uid= and gid=.
func (im *initMount) fileOption(o string) error {
	k, v, _ := strings.Cut(o, "=")
	switch k {
	case "mode":
		n, err := strconv.ParseUint(v, 8, 32)
		if err != nil || n > 0o7777 {
			return fmt.Errorf("invalid file mode %q", v)
		}
		im.FileMode = uint32(n)
	case "uid", "gid":
		n, err := strconv.ParseUint(v, 10, 31)
		if err != nil {
			return fmt.Errorf("invalid %s %q", k, v)
		}
		if k == "uid" {
			im.UID = int(n)
		} else {
			im.GID = int(n)
		}
	default:
		return fmt.Errorf("unsupported option %q", o)
	}
	return nil
}
