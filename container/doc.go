// Package container is lade's container runtime: containers that outlive
// the CLI, without a daemon.
//
// Creation: CreateFromImage takes an image already pulled and unpacked and
// docker run's options already parsed (CreateOptions: the CLI binds its
// flags into them, an API server would fill them from a request), checks
// the options against the image, records the container, mounts its rootfs
// to resolve the user, working directory and volumes, and saves the
// config; a container that fails half-way is removed. ParsePorts,
// ParseVolumeFlag, ParseMountFlag and ParseEnv read docker's option forms.
//
// State lives under <root>/containers/<id>/ (fsynced, but a --rm
// container's, which go when it stops):
//
//	config.json   what `lade run` or `create` decided (rename and update
//	              change the name, limits and restart policy)
//	state.json    status, pid, exit code, times, restarts, health
//	container.log stdout/stderr as JSON lines {"stream","time","log"}
//	rootfs/       the overlay (upper, work, merged) over the image layers
//	etc/          hosts, hostname and resolv.conf bind-mounted in
//	supervisor.lock  held (an OFD lock, released before it is closed) by
//	              whoever supervises the container
//	stdin.fifo    an -i container's stdin under a shim, which attach writes
//
// Attach follows the log from now on and writes lade's stdin into the
// FIFO; the shim holds its writing end too, so stdin stays open between
// attaches, but for a StdinOnce container (docker run -i), whose stdin
// ends with the first attach's. Pause freezes the container's cgroup
// (v2 cgroup.freeze, else the v1 freezer; setupCgroup gives every
// container run as root one); Update writes new limits into the live
// cgroups and the config. ExecDetached
// (exec -d) runs Exec in a lade re-executed as `container-exec`, which
// reports its start as a shim does.
//
// Events: what happens to containers and volumes is recorded with
// package events in the root's event log by the function that does it;
// the die event by the supervisor that saw the process end.
//
// A container is supervised either by the CLI itself (foreground `lade
// run`) or by a shim: lade re-executed as `lade container-shim --root R ID`
// in its own session, which outlives the CLI. The supervisor makes the
// container's cgroup, launches the init through runner (runner.Launch:
// its start overlaps what follows; a foreground run without a terminal,
// stdin or limits launches it before the container exists, Prestart,
// and hands it over in IO.Prestart), attaches the network, mounts the
// rootfs, hands the init its spec (runner.Run), records the
// state, writes the log, proxies published ports, runs the healthcheck and
// carries out the restart policy. Before each run of the process it
// attaches a bridged container to its network (package network: address,
// namespace wired to the bridge, DNAT of its published ports, the further
// networks `network connect` recorded in its config, embedded DNS on
// user-defined networks; rootless, slirp4netns), and detaches it when the
// process ended; rm releases what is left.
// Other commands (stop, kill, exec) work on the recorded pid directly and
// never talk to the supervisor; holding supervisor.lock is how they know
// one is alive. Rootless, every lade command runs in the user's one user
// namespace (internal/userns), the one a shim stays in, so they reach its
// containers as root's do: exec joins the container's other namespaces
// from a thread, and never has to join a user namespace, which a
// multithreaded process cannot.
//
// A -t container's terminal is opened inside it by runner; a foreground
// supervisor copies it to lade's own terminal (Terminal: raw mode with -i,
// window size), a shim to the log.
//
// A container's files and processes, for cp, diff, export, commit, top
// and stats: WithRootfs gives a command the merged rootfs (a stopped
// container's mounted for the while, under the supervisor lock); Changes
// and WriteDiff read the upper dir against the image's layers, Export
// the whole tree; ImageConfig is what commit keeps of the container's
// settings. Processes finds a running container's pids by its pid
// namespace in /proc (with --pid host: its cgroup's; and what is left
// there when its command exits is killed), which Top filters ps's rows by and Stats samples
// (the Engine API's StatsResponse: memory from the container's memory
// cgroup when it has a limit, else its processes' PSS); package engine
// turns samples into docker stats' rows.
//
// Named volumes live under <root>/volumes/<name>/_data. DiskUsage,
// VolumeUsage, PruneStopped and PruneVolumes serve system df and the
// prunes (container, volume, system), with the bytes they reclaimed.
package container
