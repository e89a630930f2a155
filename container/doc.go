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
// State lives under <root>/containers/<id>/:
//
//	config.json   what `lade run` decided (immutable after create)
//	state.json    status, pid, exit code, times, restarts, health
//	container.log stdout/stderr as JSON lines {"stream","time","log"}
//	rootfs/       the overlay (upper, work, merged) over the image layers
//	etc/          hosts, hostname and resolv.conf bind-mounted in
//	supervisor.lock  held (flock) by whoever supervises the container
//
// A container is supervised either by the CLI itself (foreground `lade
// run`) or by a shim: lade re-executed as `lade container-shim --root R ID`
// in its own session, which outlives the CLI. The supervisor mounts the
// rootfs, places the init in a cgroup, runs it through runner, records the
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
// Named volumes live under <root>/volumes/<name>/_data. DiskUsage,
// VolumeUsage, PruneStopped and PruneVolumes serve system df and the
// prunes (container, volume, system), with the bytes they reclaimed.
package container
