package main

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lade-build/lade/container"
)

func init() {
	commands = append(commands, (*app).renameCmd, (*app).pauseCmd, (*app).unpauseCmd, (*app).updateCmd)
}

func (a *app) renameCmd() *cobra.Command {
	return command("rename CONTAINER NEW_NAME", "Rename a container", cobra.ExactArgs(2),
		a.withContainers(func(_ context.Context, store *container.Store, args []string) error {
			if err := store.Rename(args[0], args[1]); err != nil {
				return a.failed(err)
			}
			return nil
		}))
}

func (a *app) pauseCmd() *cobra.Command {
	return command("pause CONTAINER...", "Pause all processes within containers (cgroup freezer)", cobra.MinimumNArgs(1),
		a.withContainers(func(_ context.Context, store *container.Store, args []string) error {
			return a.each(args, store.Pause)
		}))
}

func (a *app) unpauseCmd() *cobra.Command {
	return command("unpause CONTAINER...", "Unpause all processes within containers", cobra.MinimumNArgs(1),
		a.withContainers(func(_ context.Context, store *container.Store, args []string) error {
			return a.each(args, store.Unpause)
		}))
}

// updateCmd is docker update: new limits and restart policy for running
// or stopped containers, kept for their next start.
func (a *app) updateCmd() *cobra.Command {
	var o container.UpdateOptions
	var cpus float64
	var shares, pids int64
	var restart string
	var l container.LimitOptions
	var c *cobra.Command
	c = command("update [OPTIONS] CONTAINER...", "Update the resource limits and restart policy of containers", cobra.MinimumNArgs(1),
		a.withContainers(func(ctx context.Context, store *container.Store, args []string) error {
			fl := c.Flags()
			if fl.Changed("cpus") {
				o.CPUs = &cpus
			}
			if fl.Changed("cpu-shares") {
				o.CPUShares = &shares
			}
			if fl.Changed("pids-limit") {
				o.PidsLimit = &pids
			}
			if fl.Changed("restart") {
				o.Restart = &restart
			}
			o.CPUPeriod, o.CPUQuota = changed(fl, "cpu-period", &l.CPUPeriod), changed(fl, "cpu-quota", &l.CPUQuota)
			o.CpusetCpus, o.CpusetMems = changed(fl, "cpuset-cpus", &l.CpusetCpus), changed(fl, "cpuset-mems", &l.CpusetMems)
			o.BlkioWeight, o.MemoryReservation = changed(fl, "blkio-weight", &l.BlkioWeight), l.MemoryReservation
			return a.each(args, func(ref string) error { return store.Update(ctx, ref, o, a.stderr) })
		}))
	fl := c.Flags()
	resourceFlags(c, &o.Memory, &o.MemorySwap, &cpus, &shares, &pids)
	limitFlags(c, &l)
	fl.StringVar(&restart, "restart", "", "restart policy: no, on-failure[:N], always, unless-stopped")
	return c
}

// resourceFlags registers the cgroup limits run, create and update share.
func resourceFlags(c *cobra.Command, memory, swap *string, cpus *float64, shares, pids *int64) {
	fl := c.Flags()
	fl.StringVarP(memory, "memory", "m", "", "memory limit (e.g. 32m, 1g)")
	fl.StringVar(swap, "memory-swap", "", "memory plus swap limit (-1: unlimited swap; default: no swap)")
	fl.Float64Var(cpus, "cpus", 0, "number of CPUs")
	fl.Int64VarP(shares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	fl.Int64Var(pids, "pids-limit", 0, "maximum number of processes (-1: unlimited)")
}

// limitFlags registers the further cgroup limits run, create and update
// share.
func limitFlags(c *cobra.Command, l *container.LimitOptions) {
	fl := c.Flags()
	fl.Int64Var(&l.CPUPeriod, "cpu-period", 0, "limit CPU CFS (Completely Fair Scheduler) period, in microseconds")
	fl.Int64Var(&l.CPUQuota, "cpu-quota", 0, "limit CPU CFS (Completely Fair Scheduler) quota, in microseconds")
	fl.StringVar(&l.CpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	fl.StringVar(&l.CpusetMems, "cpuset-mems", "", "memory nodes (MEMs) in which to allow execution (0-3, 0,1)")
	fl.StringVar(&l.MemoryReservation, "memory-reservation", "", "memory soft limit (e.g. 32m, 1g)")
	fl.Uint16Var(&l.BlkioWeight, "blkio-weight", 0, "block IO (relative weight), between 10 and 1000, or 0 to disable")
}

// changed is v if flag name was given, else nil.
func changed[T any](fl *pflag.FlagSet, name string, v *T) *T {
	if fl.Changed(name) {
		return v
	}
	return nil
}
