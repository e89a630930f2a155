// Package engine is lade's objects in the Docker Engine API's shapes.
//
// Containers, images, volumes and networks live in lade's own stores
// (packages container, images, network) in lade's own records. The
// functions here fill the Engine API's types (github.com/moby/moby/api
// /types) from those records: ContainerInspect and ContainerSummary for
// inspect and ps, ImageInspect, ImageSummary and History for image
// inspect, images and history, Volume, NetworkInspect and NetworkSummary.
// The CLI prints these structs as JSON and runs docker's --format
// templates on them, and an API server would answer with the same
// structs, so the three never drift apart. cmd/lade only wires.
//
// Where docker's older API (1.41, Debian's docker.io) had fields the
// current types dropped (NetworkSettings.IPAddress, an image's Parent and
// DockerVersion), the structs here add them back, so scripts written for
// either client keep working.
//
// FilterContainers and FilterImages apply docker's --filter rules to the
// filled structs.
package engine
