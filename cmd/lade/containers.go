package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/docker/cli/cli/command/formatter"
	"github.com/spf13/cobra"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/internal/dockertime"
)

func init() {
	commands = append(commands, (*app).psCmd, (*app).logsCmd, (*app).stopCmd, (*app).killCmd,
		(*app).startCmd, (*app).restartCmd, (*app).waitCmd, (*app).rmCmd, (*app).execCmd,
		(*app).containerCmd, (*app).volumeCmd)
}

// container looks ref up in the container store, reporting a failure the
// docker way.
func (a *app) container(ref string) (*container.Store, *container.Container, error) {
	store, err := a.containers()
	if err != nil {
		return nil, nil, err
	}
	c, err := store.Get(ref)
	if err != nil {
		return nil, nil, a.failed(err)
	}
	return store, c, nil
}

// failed reports a lade failure the docker way: message, status 1.
func (a *app) failed(err error) error {
	return statusError{1, err}
}

// eachContainer runs fn on every ref, printing what docker prints, and
// fails at the end when any ref failed.
func (a *app) eachContainer(refs []string, fn func(*container.Store, *container.Container) error) error {
	store, err := a.containers()
	if err != nil {
		return err
	}
	return a.each(refs, func(ref string) error {
		c, err := store.Get(ref)
		if err != nil {
			return err
		}
		return fn(store, c)
	})
}

// each runs fn on every ref, printing the ref when it succeeds and the
// error when it fails, as docker's commands on several objects do, and
// fails at the end when any ref failed.
func (a *app) each(refs []string, fn func(ref string) error) error {
	failed := false
	for _, ref := range refs {
		if err := fn(ref); err != nil {
			printError(a.stderr, "", err)
			failed = true
			continue
		}
		fmt.Fprintln(a.stdout, ref)
	}
	if failed {
		return exitError{1}
	}
	return nil
}

// table starts a listing on stdout as docker's list commands print it:
// aligned columns under header, no header when quiet. Flush it at the end.
func (a *app) table(quiet bool, header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 3, ' ', 0)
	if !quiet {
		fmt.Fprintln(tw, header)
	}
	return tw
}

func (a *app) psCmd() *cobra.Command {
	var o engine.ListOptions
	var quiet, noTrunc, size bool
	var format string
	c := command("ps [OPTIONS]", "List containers", cobra.NoArgs, func(ctx context.Context, _ []string) error {
		s, err := a.stores()
		if err != nil {
			return err
		}
		all, err := s.Containers.List()
		if err != nil {
			return err
		}
		list, err := engine.ListContainers(all, o)
		if err != nil {
			return statusError{125, err}
		}
		fctx := formatter.Context{Output: a.stdout, Format: formatter.NewContainerFormat(format, quiet, size), Trunc: !noTrunc}
		return formatter.ContainerWrite(fctx, s.ContainerSummaries(ctx, list, size || fctx.Format.Contains("{{.Size}}")))
	})
	fl := c.Flags()
	fl.BoolVarP(&o.All, "all", "a", false, "show all containers, not only running ones")
	fl.BoolVarP(&quiet, "quiet", "q", false, "only print IDs")
	fl.BoolVar(&noTrunc, "no-trunc", false, "do not truncate output")
	fl.BoolVarP(&size, "size", "s", false, "display total file sizes")
	fl.BoolVarP(&o.Latest, "latest", "l", false, "show the latest created container (any state)")
	fl.IntVarP(&o.Last, "last", "n", -1, "show the N last created containers (any state)")
	fl.StringVar(&format, "format", "", "format the output with a Go template, 'table', 'table TEMPLATE' or 'json'")
	fl.StringArrayVarP(&o.Filters, "filter", "f", nil, "filter: id, name, label, status, exited, ancestor, before, since, volume, network, health, publish, expose")
	return c
}

func (a *app) logsCmd() *cobra.Command {
	var o container.LogOptions
	var tail, since, until string
	c := command("logs [OPTIONS] CONTAINER", "Show a container's output", cobra.ExactArgs(1), func(ctx context.Context, args []string) error {
		o.Tail = -1
		if tail != "all" {
			if _, err := fmt.Sscanf(tail, "%d", &o.Tail); err != nil {
				return fmt.Errorf("invalid --tail %q", tail)
			}
		}
		var err error
		now := time.Now()
		if o.Since, err = dockertime.Parse(since, now); err != nil {
			return statusError{125, fmt.Errorf("--since: %w", err)}
		}
		if o.Until, err = dockertime.Parse(until, now); err != nil {
			return statusError{125, fmt.Errorf("--until: %w", err)}
		}
		store, c, err := a.container(args[0])
		if err != nil {
			return err
		}
		return store.ReadLogs(ctx, c.ID, o, a.stdout, a.stderr)
	})
	c.Flags().BoolVarP(&o.Follow, "follow", "f", false, "keep following the output")
	c.Flags().StringVarP(&tail, "tail", "n", "all", "number of lines to show from the end")
	c.Flags().BoolVarP(&o.Timestamps, "timestamps", "t", false, "show timestamps")
	c.Flags().StringVar(&since, "since", "", "show output since this time (RFC 3339, Unix seconds, or a duration back from now)")
	c.Flags().StringVar(&until, "until", "", "show output before this time")
	c.Flags().BoolVar(&o.Details, "details", false, "show the extra details given to the log (lade's has none)")
	return c
}

func (a *app) stopCmd() *cobra.Command {
	var f stopFlags
	var c *cobra.Command
	c = command("stop [-t N] [-s SIGNAL] CONTAINER...", "Stop containers: the stop signal, then SIGKILL after a grace period", cobra.MinimumNArgs(1),
		func(ctx context.Context, args []string) error {
			return a.eachContainer(args, func(s *container.Store, ctr *container.Container) error {
				return s.Stop(ctx, f.apply(ctr), stopTimeout(c, f.timeout, ctr))
			})
		})
	f.register(c)
	return c
}

// stopFlags are stop's and restart's -t and -s.
type stopFlags struct {
	timeout int
	signal  string
}

func (f *stopFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.IntVarP(&f.timeout, "timeout", "t", 10, "seconds to wait before killing")
	fl.IntVar(&f.timeout, "time", 10, "seconds to wait before killing")
	_ = fl.MarkDeprecated("time", "use --timeout")
	fl.StringVarP(&f.signal, "signal", "s", "", "signal to stop with (default: the container's stop signal)")
}

// apply returns ctr with -s as its stop signal for this stop.
func (f *stopFlags) apply(ctr *container.Container) *container.Container {
	if f.signal == "" {
		return ctr
	}
	with := *ctr
	with.StopSignal = f.signal
	return &with
}

// stopTimeout is -t when given, else the container's --stop-timeout, else 10s.
func stopTimeout(cmd *cobra.Command, t int, c *container.Container) time.Duration {
	given := cmd.Flags().Changed("time") || cmd.Flags().Changed("timeout")
	if !given && c.StopTimeout > 0 {
		t = c.StopTimeout
	}
	return time.Duration(t) * time.Second
}

func (a *app) killCmd() *cobra.Command {
	var sig string
	c := command("kill [-s SIGNAL] CONTAINER...", "Send a signal (default SIGKILL) to containers", cobra.MinimumNArgs(1), func(_ context.Context, args []string) error {
		s, err := container.ParseSignal(sig)
		if err != nil {
			return err
		}
		return a.eachContainer(args, func(st *container.Store, c *container.Container) error {
			return st.Kill(c.ID, s)
		})
	})
	c.Flags().StringVarP(&sig, "signal", "s", "KILL", "signal to send")
	return c
}

func (a *app) startCmd() *cobra.Command {
	var attach, interactive bool
	c := command("start [-a] [-i] CONTAINER...", "Start stopped containers in the background, or one attached with -a", cobra.MinimumNArgs(1),
		func(ctx context.Context, args []string) error {
			if attach || interactive {
				return a.startAttached(ctx, args, interactive)
			}
			return a.eachContainer(args, func(s *container.Store, c *container.Container) error {
				if s.Running(c.ID) {
					return nil // docker start of a running container is a no-op
				}
				return s.StartShim(ctx, c.ID, "")
			})
		})
	c.Flags().BoolVarP(&attach, "attach", "a", false, "run in the foreground with its output and exit status, passing signals on (no -t)")
	c.Flags().BoolVarP(&interactive, "interactive", "i", false, "attach stdin too (if created with -i)")
	return c
}

// startAttached is start -a: the container runs in the foreground as in
// run without -d; docker passes signals on only without a terminal.
func (a *app) startAttached(ctx context.Context, refs []string, interactive bool) error {
	if len(refs) > 1 {
		return statusError{1, errors.New("you cannot start and attach multiple containers at once")}
	}
	store, c, err := a.container(refs[0])
	if err != nil {
		return err
	}
	if err := store.ClearStop(c.ID); err != nil {
		return err
	}
	code, err := a.foreground(ctx, store, c.ID, streams{interactive && c.OpenStdin, true, true}, c.Tty, !c.Tty, nil)
	if err != nil {
		return a.failed(err)
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}

func (a *app) restartCmd() *cobra.Command {
	var f stopFlags
	var c *cobra.Command
	c = command("restart [-t N] [-s SIGNAL] CONTAINER...", "Stop and start containers", cobra.MinimumNArgs(1), func(ctx context.Context, args []string) error {
		return a.eachContainer(args, func(s *container.Store, ctr *container.Container) error {
			return s.Restart(ctx, f.apply(ctr), stopTimeout(c, f.timeout, ctr))
		})
	})
	f.register(c)
	return c
}

func (a *app) waitCmd() *cobra.Command {
	return command("wait CONTAINER...", "Wait for containers to stop and print their exit codes", cobra.MinimumNArgs(1),
		a.withContainers(func(ctx context.Context, store *container.Store, args []string) error {
			for _, ref := range args {
				c, err := store.Get(ref)
				if err != nil {
					return a.failed(err)
				}
				code, err := store.Wait(ctx, c.ID)
				if err != nil {
					return a.failed(err)
				}
				fmt.Fprintln(a.stdout, code)
			}
			return nil
		}))
}

func (a *app) rmCmd() *cobra.Command {
	var force, volumes bool
	c := command("rm [-f] [-v] CONTAINER...", "Remove containers", cobra.MinimumNArgs(1), func(ctx context.Context, args []string) error {
		return a.eachContainer(args, func(s *container.Store, c *container.Container) error {
			return s.Remove(ctx, c.ID, force, volumes)
		})
	})
	c.Flags().BoolVarP(&force, "force", "f", false, "kill and remove a running container")
	c.Flags().BoolVarP(&volumes, "volumes", "v", false, "remove the container's anonymous volumes")
	return c
}

func (a *app) execCmd() *cobra.Command {
	var interactive, tty, detach, privileged bool
	var env, envFiles []string
	var workdir, user string
	c := command("exec [OPTIONS] CONTAINER COMMAND [ARG...]", "Run a command in a running container", cobra.MinimumNArgs(2),
		a.withContainers(func(ctx context.Context, store *container.Store, args []string) error {
			c, err := store.Get(args[0])
			if err != nil {
				return statusError{125, err}
			}
			o := container.ExecOptions{Args: args[1:], Cwd: workdir, User: user, Stdout: a.stdout, Stderr: a.stderr, Tty: tty,
				SigProxy: true, Privileged: privileged}
			if o.Env, err = container.ParseEnv(envFiles, env); err != nil {
				return statusError{125, err}
			}
			if detach {
				if err := store.ExecDetached(ctx, c, o); err != nil {
					return statusError{125, err}
				}
				return nil
			}
			if interactive {
				o.Stdin = a.stdin
			}
			if tty {
				term, err := container.OpenTerminal(a.stdin, a.stdout, interactive)
				if err != nil {
					return statusError{125, fmt.Errorf("setting up the terminal: %w", err)}
				}
				defer term.Close()
				o.Terminal = term
			}
			// Signals go to the command, which lade then waits for.
			code, err := store.Exec(context.WithoutCancel(ctx), c, o)
			if err != nil {
				return statusError{125, err}
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		}))
	processFlags(c, &interactive, &tty, &env, &workdir)
	c.Flags().StringVarP(&user, "user", "u", "", "user[:group] to run as (names from the container's /etc/passwd and /etc/group)")
	c.Flags().BoolVarP(&detach, "detach", "d", false, "run the command in the background")
	c.Flags().StringArrayVar(&envFiles, "env-file", nil, "read environment variables from a file")
	c.Flags().BoolVar(&privileged, "privileged", false, "give the command every capability and no seccomp filter")
	return c
}

// containerCmd groups `lade container inspect|ls`.
func (a *app) containerCmd() *cobra.Command {
	c := &cobra.Command{Use: "container", Short: "Manage containers"}
	inspect := a.kindInspectCmd("container", "inspect [OPTIONS] CONTAINER...", "Show containers' configuration and state as JSON")
	ls := a.psCmd()
	ls.Use, ls.Aliases = "ls [-a] [-q]", []string{"list"}
	c.AddCommand(inspect, ls)
	return c
}

func (a *app) volumeCmd() *cobra.Command {
	c := &cobra.Command{Use: "volume", Short: "Manage volumes"}
	c.AddCommand(a.volumeCreateCmd(), a.volumeLsCmd(), a.volumeInspectCmd(), a.volumeRmCmd())
	return c
}

func (a *app) volumeCreateCmd() *cobra.Command {
	return command("create [NAME]", "Create a volume (a random name when none is given)", cobra.MaximumNArgs(1),
		a.withContainers(func(_ context.Context, store *container.Store, args []string) error {
			v, err := store.CreateVolume(optionalArg(args), nil)
			if err != nil {
				return a.failed(err)
			}
			fmt.Fprintln(a.stdout, v.Name)
			return nil
		}))
}

func (a *app) volumeLsCmd() *cobra.Command {
	var quiet bool
	var format string
	var filters []string
	ls := command("ls [OPTIONS]", "List volumes", cobra.NoArgs, a.withContainers(func(_ context.Context, store *container.Store, _ []string) error {
		vols, err := engine.ListVolumes(store, filters)
		if err != nil {
			return statusError{125, err}
		}
		if format == "" {
			format = formatter.TableFormatKey
		}
		return formatter.VolumeWrite(formatter.Context{Output: a.stdout, Format: formatter.NewVolumeFormat(format, quiet)}, vols)
	}))
	ls.Aliases = []string{"list"}
	ls.Flags().BoolVarP(&quiet, "quiet", "q", false, "only print names")
	ls.Flags().StringVar(&format, "format", "", "format the output with a Go template, 'table', 'table TEMPLATE' or 'json'")
	ls.Flags().StringArrayVarP(&filters, "filter", "f", nil, "filter: name, label, driver, dangling")
	return ls
}

func (a *app) volumeInspectCmd() *cobra.Command {
	return a.kindInspectCmd("volume", "inspect [OPTIONS] VOLUME...", "Show volumes as JSON")
}

func (a *app) volumeRmCmd() *cobra.Command {
	return command("rm VOLUME...", "Remove volumes not used by any container", cobra.MinimumNArgs(1),
		a.withContainers(func(_ context.Context, store *container.Store, args []string) error {
			return a.each(args, store.RemoveVolume)
		}))
}
