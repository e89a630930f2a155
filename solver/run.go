package solver

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	dfparser "github.com/moby/buildkit/frontend/dockerfile/parser"
	digest "github.com/opencontainers/go-digest"

	"github.com/lade-build/lade/fileop"
	"github.com/lade-build/lade/runner"
	"github.com/lade-build/lade/runner/seccomp"
)

func digestOf(h v1.Hash) digest.Digest { return digest.Digest(h.String()) }

const sandboxHostname = "buildkitsandbox"

var etcOnce sync.Map // the files' dir -> *etcFiles

type etcFiles struct {
	once                    sync.Once
	hosts, resolv, hostname string
	err                     error
}

// etcFiles writes the /etc/hosts, /etc/resolv.conf and /etc/hostname that
// every RUN step sees. They are bind-mounted, so they never reach a layer.
// --add-host lines make a hosts file of their own, beside the plain one.
func (bd *build) etcFiles() (*etcFiles, error) {
	extra := bd.o.Sandbox.hostsLines()
	dir := filepath.Join(bd.b.TmpDir, "etc")
	if extra != "" {
		dir += "-" + digest.FromString(extra).Encoded()[:16]
	}
	v, _ := etcOnce.LoadOrStore(dir, &etcFiles{})
	e := v.(*etcFiles)
	e.once.Do(func() {
		if e.err = os.MkdirAll(dir, 0o755); e.err != nil {
			return
		}
		resolv, err := os.ReadFile("/etc/resolv.conf")
		if err != nil {
			resolv = []byte{}
		}
		files := map[string][]byte{
			"hosts":       []byte("127.0.0.1\tlocalhost " + sandboxHostname + "\n::1\tlocalhost ip6-localhost ip6-loopback\n" + extra),
			"resolv.conf": resolv,
			"hostname":    []byte(sandboxHostname + "\n"),
		}
		for name, data := range files {
			if e.err = os.WriteFile(filepath.Join(dir, name), data, 0o644); e.err != nil {
				return
			}
		}
		e.hosts, e.resolv, e.hostname = filepath.Join(dir, "hosts"), filepath.Join(dir, "resolv.conf"), filepath.Join(dir, "hostname")
	})
	return e, e.err
}

// runArgs turns a RUN command into argv, handling heredocs as BuildKit does.
// A single heredoc starting with #! is written to a file and executed.
func (sc *stageCtx) runArgs(c *instructions.RunCommand) (args []string, script *instructions.ShellInlineFile, err error) {
	args = c.CmdLine
	if len(c.Files) > 0 {
		if len(args) != 1 || !c.PrependShell {
			return nil, nil, fmt.Errorf("parsing produced an invalid run command: %v", args)
		}
		if hd := dfparser.MustParseHeredoc(args[0]); hd != nil {
			f := c.Files[0]
			data := f.Data
			if f.Chomp {
				data = dfparser.ChompHeredocContent(data)
			}
			if strings.HasPrefix(data, "#!") {
				f.Data = data
				return []string{path.Join("/dev/pipes", f.Name)}, &f, nil
			}
			args = []string{data}
		} else {
			var b strings.Builder
			b.WriteString(args[0])
			for _, f := range c.Files {
				b.WriteByte('\n')
				b.WriteString(f.Data)
				b.WriteString(f.Name)
			}
			args = []string{b.String()}
		}
	}
	if c.PrependShell {
		args = sc.withShell(args)
	}
	return args, nil, nil
}

// runStep is what a RUN step's process needs besides the stage and its
// rootfs.
type runStep struct {
	plan []plannedMount
	etc  *etcFiles
	// spec is what does not depend on the rootfs: argv, the /etc and
	// script mounts, network, sandbox and output.
	spec runner.Spec
}

// dispatchRun runs a RUN: it checks the step, keys it on its command,
// environment and mounts, and runs the process unless the cache holds the
// result.
func (sc *stageCtx) dispatchRun(ctx context.Context, c *instructions.RunCommand) error {
	bd := sc.bd
	args, script, err := sc.runArgs(c)
	if err != nil {
		return err
	}
	insecure := instructions.GetSecurity(c) == "insecure"
	if insecure && !bd.allowed(EntitlementSecurityInsecure) {
		return fmt.Errorf("security.insecure is not allowed: pass --allow %s", EntitlementSecurityInsecure)
	}
	plan, err := sc.planMounts(c)
	if err != nil {
		return err
	}
	network := bd.o.Network
	if n := instructions.GetNetwork(c); n != "" && n != "default" {
		network = string(n)
	}
	rs := &runStep{plan: plan, spec: sandboxSpec(args, network, insecure)}
	rs.spec.Platform = sc.programPlatform()
	cleanup, err := sc.runFiles(rs, script)
	defer cleanup()
	if err != nil {
		return err
	}
	if err := bd.o.Sandbox.apply(&rs.spec); err != nil {
		return err
	}
	step := bd.o.Progress.Start(sc.progressName(c))
	rs.spec.Stdout, rs.spec.Stderr = step, step
	scriptData := ""
	if script != nil {
		scriptData = script.Data
	}
	in := sc.runInputs(ctx, args, scriptData, network, string(instructions.GetSecurity(c)), plan)
	if k := bd.o.Sandbox.key(); k != "" {
		in["sandbox"] = k
	}
	added, err := sc.layerStep(ctx, step, in, func(rootfs string) error {
		return sc.runProcess(ctx, rootfs, rs)
	})
	if err != nil {
		return err
	}
	sc.commit("RUN "+sc.runCommandString(args), added, true)
	return nil
}

// programPlatform is the platform of the stage's programs, which a RUN
// runs (natively or through qemu, see runner/binfmt): what its image
// config says, which for a base of the wrong platform is not the one the
// stage wanted.
func (sc *stageCtx) programPlatform() *v1.Platform {
	img := sc.st.img
	p := sc.st.platform
	if img.Architecture != "" {
		p = v1.Platform{OS: img.OS, Architecture: img.Architecture, Variant: img.Variant}
	}
	if p.OS == "" {
		p.OS = "linux"
	}
	return &p
}

// sandboxSpec is BuildKit's sandbox (the default): docker's default
// capabilities, masked paths and seccomp filter. Insecure, with its
// entitlement, keeps every capability and hides and filters nothing.
func sandboxSpec(args []string, network string, insecure bool) runner.Spec {
	spec := runner.Spec{Args: args, Hostname: sandboxHostname, Network: runner.NetworkHost}
	if network == "none" {
		spec.Network = runner.NetworkNone
	}
	if !insecure {
		spec.Capabilities = runner.DefaultCapabilities
		spec.MaskedPaths = runner.DefaultMaskedPaths
		spec.ReadonlyPaths = runner.DefaultReadonlyPaths
		spec.Seccomp = seccomp.Default()
	}
	// BuildKit's insecure mode runs privileged: every device may be opened.
	spec.AllDevices = insecure
	return spec
}

// runFiles binds the /etc files every RUN sees and, for a heredoc
// script, a dir holding it; cleanup removes the script's dir.
func (sc *stageCtx) runFiles(rs *runStep, script *instructions.ShellInlineFile) (cleanup func(), err error) {
	cleanup = func() {}
	if rs.etc, err = sc.bd.etcFiles(); err != nil {
		return cleanup, fmt.Errorf("preparing /etc files: %w", err)
	}
	rs.spec.Mounts = []runner.Mount{
		{Type: "bind", Source: rs.etc.hosts, Target: "/etc/hosts", Options: []string{"ro"}},
		{Type: "bind", Source: rs.etc.resolv, Target: "/etc/resolv.conf", Options: []string{"ro"}},
	}
	if script == nil {
		return cleanup, nil
	}
	dir, err := os.MkdirTemp(sc.bd.b.TmpDir, "pipes-")
	if err != nil {
		return cleanup, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	if err := os.WriteFile(filepath.Join(dir, script.Name), []byte(script.Data), 0o755); err != nil {
		return cleanup, err
	}
	rs.spec.Mounts = append(rs.spec.Mounts, runner.Mount{Type: "bind", Source: dir, Target: "/dev/pipes", Options: []string{"ro"}})
	return cleanup, nil
}

// runProcess sets up the step's mounts, runs its process on rootfs and
// releases the mounts once it is gone.
func (sc *stageCtx) runProcess(ctx context.Context, rootfs string, rs *runStep) (err error) {
	sm, err := sc.prepareMounts(ctx, rs.plan, sc.st.env)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := sm.release(); err == nil {
			err = rerr
		}
	}()
	spec, err := sc.runSpec(rootfs, rs, sm)
	if err != nil {
		return err
	}
	code, err := sc.bd.b.Exec.Run(ctx, spec)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("process %q did not complete successfully: exit code: %d", strings.Join(spec.Args, " "), code)
	}
	return nil
}

// runSpec completes the step's process for rootfs: its user, working dir
// (created if missing), environment and mounts.
func (sc *stageCtx) runSpec(rootfs string, rs *runStep, sm *stepMounts) (*runner.Spec, error) {
	user, err := sc.resolveUser(rootfs)
	if err != nil {
		return nil, err
	}
	cwd := sc.st.img.Config.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	if err := mkdirAllOwned(rootfs, cwd, int(user.UID), int(user.GID)); err != nil {
		return nil, fmt.Errorf("creating working directory %s: %w", cwd, err)
	}
	spec := rs.spec
	spec.Rootfs, spec.Cwd, spec.Env = rootfs, cwd, sc.runEnv(user.Home, sm.env)
	spec.UID, spec.GID, spec.AdditionalGIDs = user.UID, user.GID, user.AdditionalGIDs
	spec.Mounts = append(append([]runner.Mount(nil), rs.spec.Mounts...), sm.mounts...)
	// BuildKit leaves an image's own /etc/hostname alone (a step may
	// delete it); only an image without one gets ours, as a stub that
	// the runner removes again.
	if p, err := securejoin.SecureJoin(rootfs, "/etc/hostname"); err == nil {
		if _, err := os.Lstat(p); os.IsNotExist(err) {
			spec.Mounts = append(spec.Mounts, runner.Mount{Type: "bind", Source: rs.etc.hostname, Target: "/etc/hostname", Options: []string{"ro"}})
		}
	}
	return &spec, nil
}

// runEnv is a RUN process's environment: the stage's, HOME if unset, the
// proxy build args, then what its mounts set (SSH_AUTH_SOCK, secrets).
func (sc *stageCtx) runEnv(home string, mountEnv []string) []string {
	env := append([]string(nil), sc.st.env...)
	if _, ok := getEnv(env, "HOME"); !ok {
		env = append(env, "HOME="+home)
	}
	for k, v := range sc.bd.o.BuildArgs {
		if proxyArgs[k] {
			if _, ok := getEnv(env, k); !ok {
				env = append(env, k+"="+v)
			}
		}
	}
	for _, kv := range mountEnv {
		k, v, _ := strings.Cut(kv, "=")
		env = setEnv(env, k, v)
	}
	return env
}

// resolveUser looks up the stage's USER in the rootfs like runc does.
func (sc *stageCtx) resolveUser(rootfs string) (fileop.User, error) {
	spec := sc.st.img.Config.User
	if spec == "" {
		u, err := fileop.LookupUser(rootfs, "0")
		if err != nil {
			return fileop.User{Home: "/root", AdditionalGIDs: []uint32{0}}, nil
		}
		return u.WithPrimaryGroup(), nil
	}
	u, err := fileop.LookupUser(rootfs, spec)
	if err != nil {
		return u, err
	}
	return u.WithPrimaryGroup(), nil
}

// runCommandString is BuildKit's history form: "|2 A=1 B=2 /bin/sh -c ...".
func (sc *stageCtx) runCommandString(args []string) string {
	var kvs []string
	idx := map[string]int{}
	for _, a := range sc.st.args {
		v, ok := getEnv(sc.st.env, a.Key)
		if !ok {
			v = a.ValueString()
		}
		if i, ok := idx[a.Key]; ok {
			kvs[i] = a.Key + "=" + v
			continue
		}
		idx[a.Key] = len(kvs)
		kvs = append(kvs, a.Key+"="+v)
	}
	if len(kvs) > 0 {
		kvs = append([]string{fmt.Sprintf("|%d", len(kvs))}, kvs...)
	}
	return strings.Join(append(kvs, args...), " ")
}

func (sc *stageCtx) dispatchWorkdir(ctx context.Context, c *instructions.WorkdirCommand) error {
	wd := sc.workdirPath(c.Path)
	sc.st.img.Config.WorkingDir = wd
	if wd == "/" {
		sc.commit("WORKDIR "+wd, false, false)
		return nil
	}
	step := sc.bd.o.Progress.Start(sc.progressName(c))
	in := inputs{"instruction": "WORKDIR " + wd, "user": sc.st.img.Config.User}
	sc.addBuildInputs(in)
	added, err := sc.layerStep(ctx, step, in, func(rootfs string) error {
		uid, gid := 0, 0
		if sc.st.img.Config.User != "" {
			// BuildKit creates WORKDIR with a file op owned like COPY --chown
			// (a bare uid without a passwd entry gets gid = uid).
			o, err := fileop.LookupChown(rootfs, sc.st.img.Config.User)
			if err != nil {
				return err
			}
			uid, gid = o.UID, o.GID
		}
		return mkdirAllOwned(rootfs, wd, uid, gid)
	})
	if err != nil {
		return err
	}
	sc.commit("WORKDIR "+wd, added, false)
	return nil
}
