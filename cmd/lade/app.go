package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/internal/errmsg"
	"github.com/lade-build/lade/internal/userns"
	"github.com/lade-build/lade/runner"
	"github.com/lade-build/lade/signature"
	"github.com/lade-build/lade/snapshot"
	"github.com/lade-build/lade/solver"
)

// commands lists the subcommands; each command's file registers its
// constructor in an init func, so commands live side by side.
var commands []func(*app) *cobra.Command

// command makes a subcommand from its usage line, one-line help and
// argument rule; run gets the command's context and arguments.
func command(use, short string, args cobra.PositionalArgs, run func(ctx context.Context, args []string) error) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: args, RunE: func(cmd *cobra.Command, args []string) error {
		return run(cmd.Context(), args)
	}}
}

// withStores is run with the stores under --root opened first.
func (a *app) withStores(run func(ctx context.Context, args []string) error) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		if err := a.open(); err != nil {
			return err
		}
		return run(ctx, args)
	}
}

// withContainers is run with the container store opened first.
func (a *app) withContainers(run func(ctx context.Context, store *container.Store, args []string) error) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		store, err := a.containers()
		if err != nil {
			return err
		}
		return run(ctx, store, args)
	}
}

// exitError carries a specific exit status out of a command that has
// printed its errors already.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// statusError is an error Run prints as usual, ending lade with code:
// 125 for lade's own failures in run, create and exec, and for bad flags
// everywhere, as docker's CLI does.
type statusError struct {
	code int
	err  error
}

func (e statusError) Error() string { return e.err.Error() }
func (e statusError) Unwrap() error { return e.err }

// printError prints err, from command op, the one way lade prints errors.
func printError(w io.Writer, op string, err error) {
	fmt.Fprintln(w, errmsg.Prefix+errmsg.Format(op, err))
}

// app holds global flags and the stores under --root, opened lazily.
type app struct {
	root     string
	insecure []string
	policy   string // --signature-policy of pull and run
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer

	content   *cache.Store
	images    *images.Store
	snapshots *snapshot.Snapshotter
}

// Run is the whole CLI; tests call it directly.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCmd(args)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if a.snapshots != nil {
		a.snapshots.Wait() // duplicate snapshots a build discarded
	}
	if a.content != nil {
		a.content.Wait() // duplicate blobs' temp files
	}
	released.Wait() // archives an export replaced
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	code := 1
	var se statusError
	if errors.As(err, &se) {
		code = se.code
	}
	op := "lade"
	if cmd != nil && cmd != root {
		op = cmd.Name()
	}
	printError(stderr, op, err)
	return code
}

// rootCmd builds the command tree: the global flags, every registered
// command, then docker's management namespaces filled from them.
// rootCmd is lade's command tree for the command line args; nil builds
// all of it.
func (a *app) rootCmd(args []string) *cobra.Command {
	root := &cobra.Command{
		Use:           "lade",
		Short:         "Build OCI images from Dockerfiles and run them, without a daemon",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	defRoot := os.Getenv("LADE_ROOT")
	if defRoot == "" {
		defRoot = userns.DefaultRoot()
	}
	if defRoot == "" {
		defRoot = "/var/lib/lade"
	}
	root.PersistentFlags().StringVar(&a.root, "root", defRoot, "directory for all lade state (env LADE_ROOT)")
	root.PersistentFlags().StringArrayVar(&a.insecure, "insecure-registry", nil, "registry host allowed over plain HTTP (loopback always is)")
	// A bad flag names itself (pflag says which) and exits 125, as in docker.
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return statusError{125, fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	ctors := map[string]func(*app) *cobra.Command{}
	for _, mk := range commands {
		c := mk(a)
		root.AddCommand(c)
		ctors[c.Name()] = mk
	}
	applyExamples(root)
	if args == nil || needsNamespaces(root, args) {
		a.fillNamespaces(root, ctors)
		applyExamples(root)
	}
	setVersion(root)
	return root
}

func (a *app) open() error {
	if a.content != nil {
		return nil
	}
	// Paths under the root end up in mount options and the container
	// init's spec, which run elsewhere: make them absolute once.
	abs, err := filepath.Abs(a.root)
	if err != nil {
		return err
	}
	a.root = abs
	if err := os.MkdirAll(a.root, 0o700); err != nil {
		return fmt.Errorf("creating root %s: %w", a.root, err)
	}
	if a.content, err = cache.Open(filepath.Join(a.root, "content")); err != nil {
		return err
	}
	if a.images, err = images.Open(filepath.Join(a.root, "images"), a.content); err != nil {
		return err
	}
	a.images.SetInsecure(a.insecure)
	if a.snapshots, err = snapshot.New(filepath.Join(a.root, "snapshots")); err != nil {
		return err
	}
	// --rm containers of lade processes that were killed go now.
	if err := container.Sweep(context.Background(), a.root); err != nil {
		fmt.Fprintln(a.stderr, "WARNING: removing containers of killed lade processes: "+err.Error())
	}
	// Agent sockets (and older versions' secret mounts) of killed builds.
	if err := solver.RemoveStale(filepath.Join(a.root, "tmp")); err != nil {
		fmt.Fprintln(a.stderr, "WARNING: "+err.Error())
	}
	return nil
}

// Resolve implements solver.ImageSource: the local store first, like
// docker, then the registry.
func (a *app) Resolve(ctx context.Context, ref string, p v1.Platform) (v1.Image, error) {
	img, err := a.images.GetPlatform(ctx, ref, p)
	if err == nil || !errors.Is(err, images.ErrNotFound) {
		return img, err
	}
	// A name stored for another platform only: the registry may have p;
	// if it cannot be reached, the stored image serves (the solver warns
	// that its platform is not the one wanted, as BuildKit does).
	local, lerr := a.images.Get(ctx, ref)
	img, err = a.pullBase(ctx, ref, p)
	var refused *signature.Refusal
	if err != nil && lerr == nil && !errors.As(err, &refused) {
		return local, nil
	}
	return img, err
}

// pullBase pulls a base image of a build for platform p under the
// signature policy in force, as pull does: a refused image is never
// stored, and the error names ref.
func (a *app) pullBase(ctx context.Context, ref string, p v1.Platform) (v1.Image, error) {
	verify, err := a.signatureCheck(ref)
	if err != nil {
		return nil, err
	}
	return a.images.Pull(ctx, ref, images.PullOptions{Platform: p, Insecure: a.insecure, Verify: verify})
}

func (a *app) runner() *runner.Runner { return runner.New() }
