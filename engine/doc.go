// Package engine is lade's objects in the Docker Engine API's shapes.
//
// Containers, images, volumes and networks live in lade's own stores
// (packages container, images, network) in lade's own records. The
// functions here fill the Engine API's types (github.com/moby/moby/api
// /types) from those records: ContainerInspect and ContainerSummary for
// inspect and ps, ImageInspect, Summaries and History for image inspect,
// images and history, Volume, NetworkInspect and NetworkSummary. The CLI
// prints these structs as JSON and runs docker's --format templates on
// them, and `lade serve` is to answer with the same structs, so the
// three never drift apart; cmd/lade only wires flags to them.
//
// Stores bundles one root's stores: Inspect looks a name up in docker
// inspect's order (container, image, network, volume) or in one kind,
// and Inspector prints the records as docker inspect does (an indented
// JSON array, or a template per record, falling back to the record's
// JSON as maps as docker's CLI does). ListContainers, ListImages and
// ListVolumes select what ps, images and volume ls show, with docker's
// --filter keys (ParseFilters: values of one key OR, keys AND).
// NewHistoryFormat/HistoryWrite and NewNetworkFormat/NetworkWrite are
// history's and network ls's rows on docker/cli's formatter, which has
// no writer for them; so is WriteStats for stats, whose rows a Sampler
// computes from container.Store.Stats's samples (CPU % between rounds).
//
// Pull, Tag, RemoveImage, ContainerImage and PruneNetworks are the
// operations both the CLI and `lade serve` (package apiserver) perform on
// the stores: docker pull's fetch, unpack and name; docker tag's checks;
// rmi with the containers that use an image; a stored image unpacked for
// a new container; network prune of networks no container is on.
//
// A few operations are here too because the CLI and the API server do
// them alike (ops.go): Pull (unpacking layers while they download), Tag,
// RemoveImage (with images.Store.Delete's rules for images containers
// use), ContainerImage (what a container is created from) and
// PruneNetworks; DiskUsage (system df, in the API's system.DiskUsage),
// Collector (the build cache's gc.Collector, rooted in what images and
// containers use) and PruneBuildCache (builder prune, under the GC
// lock).
//
// Where docker's older API (1.41, Debian's docker.io) had fields the
// current types dropped (NetworkSettings.IPAddress, an image's Parent and
// DockerVersion, its Config with every key), the structs here add them
// back, so scripts written for either client keep working.
package engine
