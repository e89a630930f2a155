package solver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"golang.org/x/crypto/ssh/agent"

	"github.com/lade-build/lade/fileop"
	"github.com/lade-build/lade/internal/owned"
	"github.com/lade-build/lade/runner"
)

// mountState is the per-build state RUN mounts share.
type mountState struct {
	agents map[string]agent.Agent // --ssh keyrings by id
}

// stepMounts is what one RUN step's --mount flags turned into: runner
// mounts, extra process env, and what to undo once the process is gone.
type stepMounts struct {
	mounts   []runner.Mount
	env      []string
	dir      *owned.Dir // agent sockets
	cleanups []func() error
}

func (s *stepMounts) addCleanup(f func() error) { s.cleanups = append(s.cleanups, f) }

// release undoes everything in reverse order.
func (s *stepMounts) release() error {
	var errs []error
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		errs = append(errs, s.cleanups[i]())
	}
	s.cleanups = nil
	if s.dir != nil {
		errs = append(errs, s.dir.Remove())
		s.dir = nil
	}
	return errors.Join(errs...)
}

func (s *stepMounts) privateDir(tmpDir string) (*owned.Dir, error) {
	if s.dir == nil {
		d, err := newStepDir(tmpDir)
		if err != nil {
			return nil, err
		}
		s.dir = d
	}
	return s.dir, nil
}

// plannedMount is one --mount after validation, before anything exists.
type plannedMount struct {
	m      *instructions.Mount
	target string // absolute, clean
	id     string // secret, ssh and cache id
	skip   bool   // optional secret/ssh that was not provided
	index  int    // ssh mounts: position among them
}

func (bd *build) allowed(entitlement string) bool {
	for _, e := range bd.o.Allow {
		if e == entitlement {
			return true
		}
	}
	return false
}

// workdirTarget places a mount target as BuildKit does for every type:
// an absolute target is used as is, a relative one is under the workdir
// (the frontend joins it for cache, bind and tmpfs, the exec op for
// secret and ssh).
func workdirTarget(wd, target string) string {
	if path.IsAbs(target) {
		return path.Clean(target)
	}
	return path.Join("/", wd, target)
}

// mountID is the id a secret, ssh or cache mount is known by, as BuildKit
// derives it: a secret's source, else its id, else its target's base
// name; an ssh mount's id, else "default"; a cache mount's id, else its
// target. Other types have none.
func mountID(m *instructions.Mount) (string, error) {
	switch m.Type {
	case instructions.MountTypeSecret:
		switch {
		case m.Source != "":
			return m.Source, nil
		case m.CacheID != "":
			return m.CacheID, nil
		case m.Target == "":
			return "", errors.New("invalid secret mount: one of source, target required")
		}
		return path.Base(m.Target), nil
	case instructions.MountTypeSSH:
		if m.CacheID == "" {
			return "default", nil
		}
		return m.CacheID, nil
	case instructions.MountTypeCache:
		if m.CacheID == "" {
			return path.Clean(m.Target), nil
		}
		return m.CacheID, nil
	}
	return "", nil
}

// unprovided says how to pass the secret or ssh agent id when the build
// was not given it; nil when it was, and for other mount types.
func (bd *build) unprovided(typ instructions.MountType, id string) error {
	switch typ {
	case instructions.MountTypeSecret:
		if _, ok := bd.o.Secrets[id]; !ok {
			return fmt.Errorf("secret %s: not found: it is required, pass it with --secret id=%s,src=FILE", id, id)
		}
	case instructions.MountTypeSSH:
		if _, ok := bd.o.SSH[id]; !ok {
			return fmt.Errorf("ssh %s: no SSH agent or key forwarded: pass --ssh %s", id, id)
		}
	}
	return nil
}

// planMounts validates a RUN's mounts without touching anything, so bad
// input (a missing required secret, an invalid target) fails first.
// Parents come first, so a mount below another mount's target stays
// visible.
func (sc *stageCtx) planMounts(c *instructions.RunCommand) ([]plannedMount, error) {
	wd := sc.st.img.Config.WorkingDir
	if wd == "" {
		wd = "/"
	}
	var out []plannedMount
	nssh := 0
	for _, m := range instructions.GetMounts(c) {
		p, err := sc.bd.planMount(m, wd, nssh)
		if err != nil {
			return nil, err
		}
		if m.Type == instructions.MountTypeSSH {
			nssh++
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return strings.Count(out[i].target, "/") < strings.Count(out[j].target, "/")
	})
	return out, nil
}

// planMount places one mount; nssh counts the ssh mounts before it.
func (bd *build) planMount(m *instructions.Mount, wd string, nssh int) (plannedMount, error) {
	p := plannedMount{m: m}
	if m.Type == instructions.MountTypeSSH && m.Source != "" {
		return p, errors.New("ssh does not support source")
	}
	var err error
	if p.id, err = mountID(m); err != nil {
		return p, err
	}
	if err := bd.unprovided(m.Type, p.id); err != nil {
		if m.Required {
			return p, err
		}
		p.skip = true
	}
	switch m.Type {
	case instructions.MountTypeSecret:
		switch {
		case m.Target != "":
			p.target = workdirTarget(wd, m.Target)
		case m.Env == nil:
			p.target = "/run/secrets/" + path.Base(p.id)
		}
	case instructions.MountTypeSSH:
		p.index = nssh
		p.target = "/run/buildkit/ssh_agent." + strconv.Itoa(p.index)
		if m.Target != "" {
			p.target = workdirTarget(wd, m.Target)
		}
	case instructions.MountTypeBind, instructions.MountTypeCache, instructions.MountTypeTmpfs:
		p.target = workdirTarget(wd, m.Target)
	default:
		return p, fmt.Errorf("unsupported mount type %q", m.Type)
	}
	if p.target == "/" {
		return p, fmt.Errorf("invalid mount target %q", m.Target)
	}
	return p, nil
}

// prepareMounts turns a RUN's --mount flags into runner mounts. On error
// everything already set up is released.
func (sc *stageCtx) prepareMounts(ctx context.Context, plan []plannedMount, env []string) (_ *stepMounts, err error) {
	s := &stepMounts{}
	defer func() {
		if err != nil {
			_ = s.release()
		}
	}()
	sshSet := false
	for _, p := range plan {
		m := p.m
		switch m.Type {
		case instructions.MountTypeSecret:
			err = sc.secretMount(s, p)
		case instructions.MountTypeSSH:
			if !sshSet {
				// As BuildKit: the first ssh mount's socket, unless the
				// step's env already names one.
				if _, ok := getEnv(env, "SSH_AUTH_SOCK"); !ok {
					s.env = append(s.env, "SSH_AUTH_SOCK="+p.target)
				}
				sshSet = true
			}
			err = sc.sshMount(ctx, s, p)
		case instructions.MountTypeTmpfs:
			var opts []string
			if m.SizeLimit > 0 {
				opts = append(opts, "size="+strconv.FormatInt(m.SizeLimit, 10))
			}
			if m.ReadOnly {
				opts = append(opts, "ro")
			}
			s.mounts = append(s.mounts, runner.Mount{Type: "tmpfs", Source: "tmpfs", Target: p.target, Options: opts})
		case instructions.MountTypeCache:
			err = sc.cacheMount(ctx, s, p)
		case instructions.MountTypeBind:
			err = sc.bindMount(ctx, s, p)
		}
		if err != nil {
			return nil, fmt.Errorf("mount %s at %s: %w", m.Type, p.target, err)
		}
	}
	return s, nil
}

func fileMode(m *instructions.Mount, def os.FileMode) (os.FileMode, int, int) {
	mode, uid, gid := def, 0, 0
	if m.Mode != nil {
		mode = os.FileMode(*m.Mode) & os.ModePerm
	}
	if m.UID != nil {
		uid = int(*m.UID)
	}
	if m.GID != nil {
		gid = int(*m.GID)
	}
	return mode, uid, gid
}

func (sc *stageCtx) secretMount(s *stepMounts, p plannedMount) error {
	if p.skip {
		return nil
	}
	value := sc.bd.o.Secrets[p.id]
	if p.m.Env != nil {
		name := *p.m.Env
		if name == "" {
			name = p.id
		}
		s.env = append(s.env, name+"="+string(value))
	}
	if p.target == "" {
		return nil
	}
	// The container's init writes it to a tmpfs of its own mount
	// namespace: it never exists on the host and cannot outlive the step.
	mode, uid, gid := fileMode(p.m, 0o400)
	s.mounts = append(s.mounts, runner.Mount{Type: "file", Data: value, Target: p.target, Options: []string{
		"ro", "nosuid", "nodev", "noexec",
		fmt.Sprintf("mode=%o", uint32(mode)), "uid=" + strconv.Itoa(uid), "gid=" + strconv.Itoa(gid)}})
	return nil
}

func (sc *stageCtx) sshMount(ctx context.Context, s *stepMounts, p plannedMount) error {
	if p.skip {
		return nil
	}
	src := sc.bd.o.SSH[p.id]
	var kr agent.Agent
	if src.Socket == "" {
		var err error
		if kr, err = sc.bd.keyring(p.id, src); err != nil {
			return err
		}
	}
	dir, err := s.privateDir(sc.bd.b.TmpDir)
	if err != nil {
		return err
	}
	mode, uid, gid := fileMode(p.m, 0o600)
	sock := filepath.Join(dir.Path, fmt.Sprintf("ssh-%d.sock", p.index))
	proxy, err := startAgentProxy(ctx, sock, uid, gid, mode, src, kr)
	if err != nil {
		return err
	}
	s.addCleanup(proxy.close)
	s.mounts = append(s.mounts, runner.Mount{Type: "bind", Source: sock, Target: p.target, Options: []string{"nosuid", "nodev", "noexec"}})
	return nil
}

// sourceRoot mounts what a mount's from= names (see fromSource) until the
// step's mounts are released; an empty from is the build context, which
// is returned as "" for the caller to handle.
func (sc *stageCtx) sourceRoot(ctx context.Context, s *stepMounts, from, target string) (string, error) {
	if from == "" {
		return "", nil
	}
	src, _, err := sc.fromSource(ctx, from)
	if errors.Is(err, errStageLater) {
		return "", fmt.Errorf("cannot mount from stage %q to %q, stage needs to be defined before current command", from, target)
	}
	if err != nil {
		return "", err
	}
	// A throwaway overlay: an rw bind's writes vanish with it.
	root, release, err := sc.bd.view(ctx, from, src.layers, src.diffIDs)
	if err != nil {
		return "", err
	}
	s.addCleanup(func() error { release(); return nil })
	return root, nil
}

// inRoot resolves source inside root; symlinks and ".." never leave it.
func inRoot(root, source string) (string, error) {
	p, err := securejoin.SecureJoin(root, path.Join("/", source))
	if err != nil {
		return "", err
	}
	if _, err := os.Lstat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("source %q: not found", path.Join("/", source))
		}
		return "", err
	}
	return p, nil
}

func (sc *stageCtx) bindMount(ctx context.Context, s *stepMounts, p plannedMount) error {
	m := p.m
	opts := []string{"rw"}
	if m.ReadOnly {
		opts = []string{"ro"}
	}
	root, err := sc.sourceRoot(ctx, s, m.From, p.target)
	if err != nil {
		return err
	}
	var src string
	if root == "" {
		src, err = sc.contextSource(ctx, s, m.Source, !m.ReadOnly)
	} else {
		src, err = inRoot(root, m.Source)
	}
	if err != nil {
		return err
	}
	s.mounts = append(s.mounts, runner.Mount{Type: "bind", Source: src, Target: p.target, Options: opts})
	return nil
}

// contextSource is the host path to bind for a context mount. Without a
// .dockerignore and read-only, that is the context itself; otherwise it is
// a copy holding only what .dockerignore lets through (BuildKit's context
// never holds excluded files), which also keeps rw writes off the host.
func (sc *stageCtx) contextSource(ctx context.Context, s *stepMounts, source string, rw bool) (string, error) {
	bd := sc.bd
	patterns, err := fileop.ReadDockerignore(bd.o.ContextDir, bd.o.DockerfilePath)
	if err != nil {
		return "", fmt.Errorf("reading .dockerignore: %w", err)
	}
	rel := path.Join("/", source)
	if excluded, err := bd.ignore.Excluded(rel, false); err != nil {
		return "", err
	} else if excluded {
		return "", fmt.Errorf("source %q: not found", rel)
	}
	src, err := inRoot(bd.o.ContextDir, source)
	if err != nil {
		return "", err
	}
	if len(patterns) == 0 && !rw {
		return src, nil
	}
	tmp, err := os.MkdirTemp(bd.b.TmpDir, "ctxmount-")
	if err != nil {
		return "", err
	}
	s.addCleanup(func() error { return os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return "", err
	}
	dest, out := "/", tmp
	if !fi.IsDir() {
		dest, out = "/file", filepath.Join(tmp, "file")
	}
	err = fileop.Copy(ctx, fileop.CopyOptions{
		Src:      fileop.Source{Root: bd.o.ContextDir, Ignore: bd.ignore},
		Paths:    []string{rel},
		DestRoot: tmp,
		Dest:     dest,
	})
	if err != nil {
		return "", fmt.Errorf("preparing context mount: %w", err)
	}
	return out, nil
}

// checkRequiredMounts fails the build before any step runs when a RUN of
// a stage the target needs wants a required secret or ssh agent that was
// not provided. Mounts whose id or target uses a variable are left to the
// step itself, since only it knows the stage's ARG and ENV values.
func (bd *build) checkRequiredMounts(needed []*stageNode) error {
	for _, n := range needed {
		for _, c := range n.stage.Commands {
			rc, ok := c.(*instructions.RunCommand)
			if !ok {
				continue
			}
			if err := rc.Expand(func(w string) (string, error) { return w, nil }); err != nil {
				continue // e.g. type=$T: the step reports it with real values
			}
			for _, m := range instructions.GetMounts(rc) {
				if !m.Required || strings.Contains(m.CacheID+m.Source+m.Target, "$") {
					continue
				}
				if m.Type != instructions.MountTypeSecret && m.Type != instructions.MountTypeSSH {
					continue
				}
				id, err := mountID(m)
				if err == nil {
					err = bd.unprovided(m.Type, id)
				}
				if err != nil {
					return bd.df.At(rc.Location(), fmt.Errorf("RUN failed: %w", err))
				}
			}
		}
	}
	return nil
}
