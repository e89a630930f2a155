package binfmt

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// Package is what to install for emulation, on Debian and Ubuntu.
const Package = "qemu-user-static"

// host is where Prepare looks: the defaults, or a test's.
type host struct {
	goarch   string // the host's architecture
	misc     string // binfmt_misc's mount point
	packages string // binfmt-support's descriptions
	path     string // where qemu-NAME-static is looked for; "" is $PATH
}

var system = host{goarch: runtime.GOARCH, misc: "/proc/sys/fs/binfmt_misc", packages: "/usr/share/binfmts"}

var (
	mu       sync.Mutex
	prepared = map[string]bool{} // platforms made ready, by platformString
)

// Prepare makes programs of platform p runnable in a container on this
// host: natively, through an enabled binfmt_misc handler with the F flag
// (which the kernel runs from inside any root), or by registering such a
// handler for qemu, which needs root. Without an emulator it fails, before
// anything runs, with a message naming the package to install. A success
// is remembered for the life of the process.
func Prepare(p v1.Platform) error {
	key := platformString(p)
	mu.Lock()
	defer mu.Unlock()
	if prepared[key] {
		return nil
	}
	if err := system.prepare(p); err != nil {
		return err
	}
	prepared[key] = true
	return nil
}

// Native reports whether this host runs p's programs without emulation:
// its own architecture, and i386 on amd64 or arm on an arm64 that runs
// 32-bit programs.
func Native(p v1.Platform) bool { return system.native(p) }

func (h host) native(p v1.Platform) bool {
	switch {
	case p.OS != "" && p.OS != "linux":
		return false
	case p.Architecture == h.goarch:
		return true
	case h.goarch == "amd64":
		return p.Architecture == "386"
	case h.goarch == "arm64" && p.Architecture == "arm":
		return h.goarch == runtime.GOARCH && aarch32()
	}
	return false
}

func (h host) prepare(p v1.Platform) error {
	if h.native(p) {
		return nil
	}
	t, err := targetOf(p)
	if err != nil {
		return err
	}
	rules, err := h.rules()
	if err != nil {
		return h.unsupported(p, t, err)
	}
	var noF []string
	for _, r := range rules {
		switch {
		case !r.enabled || !r.matches(t.header()):
		case strings.Contains(r.flags, "F"):
			return nil
		default:
			noF = append(noF, r.name)
		}
	}
	reg, err := h.emulator(p, t)
	if err != nil {
		if len(noF) > 0 {
			err = fmt.Errorf("%w (binfmt_misc handler %s lacks the F flag, so a container's root cannot reach its interpreter)", err, strings.Join(noF, ", "))
		}
		return err
	}
	return h.register(p, t, reg)
}

// rules reads the registered handlers, mounting binfmt_misc first when
// it is not (that needs root). With binfmt_misc switched off as a whole
// none of them runs.
func (h host) rules() ([]rule, error) {
	if _, err := os.Stat(filepath.Join(h.misc, "register")); err != nil {
		if err := unix.Mount("binfmt_misc", h.misc, "binfmt_misc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return nil, fmt.Errorf("mounting binfmt_misc on %s: %w", h.misc, err)
		}
	}
	if st, err := os.ReadFile(filepath.Join(h.misc, "status")); err == nil && strings.TrimSpace(string(st)) == "disabled" {
		return nil, fmt.Errorf("binfmt_misc is switched off (%s says disabled)", filepath.Join(h.misc, "status"))
	}
	ents, err := os.ReadDir(h.misc)
	if err != nil {
		return nil, err
	}
	var rules []rule
	for _, e := range ents {
		if e.Name() == "register" || e.Name() == "status" {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(h.misc, e.Name())); err == nil {
			rules = append(rules, parseEntry(e.Name(), b))
		}
	}
	return rules, nil
}

// emulator finds qemu for t: the handler binfmt-support describes (when
// its interpreter is installed), else qemu-NAME-static on the path.
func (h host) emulator(p v1.Platform, t target) (rule, error) {
	if r, ok := packaged(h.packages, t); ok {
		if _, err := os.Stat(r.interpreter); err == nil {
			return r, nil
		}
	}
	name := "qemu-" + t.qemu + "-static"
	path, err := lookPath(name, h.path)
	if err != nil {
		return rule{}, h.unsupported(p, t, fmt.Errorf("no %s found", name))
	}
	return standard(t, path), nil
}

// register adds r to binfmt_misc as lade-qemu-NAME (replacing a disabled
// one of lade's), with the F flag.
func (h host) register(p v1.Platform, t target, r rule) error {
	name := "lade-qemu-" + t.qemu
	own := filepath.Join(h.misc, name)
	if _, err := os.Stat(own); err == nil {
		if err := write(own, "-1"); err != nil {
			return fmt.Errorf("removing the disabled binfmt_misc handler %s: %w", name, err)
		}
	}
	err := write(filepath.Join(h.misc, "register"), r.registration(name))
	if errors.Is(err, unix.EEXIST) {
		err = nil // another lade registered it meanwhile
	}
	if err != nil {
		return h.unsupported(p, t, fmt.Errorf("registering %s with binfmt_misc (needs root): %w", r.interpreter, err))
	}
	return nil
}

// write writes v to a binfmt_misc control file, which must exist (the
// kernel refuses to create files there).
func write(path, v string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(v)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// unsupported is the one-line error for a platform this host cannot run.
func (h host) unsupported(p v1.Platform, t target, cause error) error {
	return fmt.Errorf("platform %s needs emulation on this linux/%s host: %v; install %s (it provides qemu-%s-static and registers it with binfmt_misc)",
		platformString(p), h.goarch, cause, Package, t.qemu)
}

// lookPath finds an executable name in dir, or in $PATH when dir is "".
func lookPath(name, dir string) (string, error) {
	if dir == "" {
		return exec.LookPath(name)
	}
	path := filepath.Join(dir, name)
	if fi, err := os.Stat(path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", os.ErrNotExist
	}
	return path, nil
}

// aarch32 reports whether this arm64 kernel runs 32-bit arm programs:
// it refuses the PER_LINUX32 personality when it does not.
func aarch32() bool {
	const perLinux32, query = 0x0008, 0xffffffff
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old, _, errno := unix.RawSyscall(unix.SYS_PERSONALITY, query, 0, 0)
	if errno != 0 {
		return false
	}
	_, _, errno = unix.RawSyscall(unix.SYS_PERSONALITY, perLinux32, 0, 0)
	unix.RawSyscall(unix.SYS_PERSONALITY, old, 0, 0)
	return errno == 0
}
