// Package solver turns a parsed Dockerfile into an image.
//
// It holds the stage DAG and its scheduling (solver.go), the instructions
// (dispatch.go, run.go, copy.go, mounts.go and the secret, ssh and cache
// mounts), the step cache keys and their explanations (cachekey.go), the
// lazy use of cached layers (lazy.go), the image it assembles (image.go)
// and BuildKit's progress names (vertexname.go).
//
// A Builder holds the stores a build works against, each behind a small
// interface so tests can swap it: a Snapshotter (OverlaySnapshots in
// lade; a directory fake in tests, so graph tests need no root), the
// content store, the cache index, an ImageSource for base images and an
// Executor for RUN processes. A Builder lives as long as the process;
// each Build call is one build and keeps its state in a build value.
//
// Lifecycle of a build: plan reads the global ARGs, .dockerignore and
// every stage's dependencies (FROM, COPY --from, RUN --mount from=) before
// anything runs, and fails early on a missing required secret or agent.
// The target and, eagerly, every stage it needs start at once, so
// independent stages run in parallel and stages nobody needs never run.
// Within a stage, instructions run in order: metadata instructions change
// the image config only; RUN, COPY, ADD and WORKDIR are layer steps,
// keyed on their parent's key and their inputs. A hit reuses the stored
// layer without unpacking it; a miss mounts a snapshot of the stage's
// layers (unpacking those not yet unpacked), runs the step and stores
// the change as a new layer. Build ends by assembling the target's image
// from blobs, with the cache records for --cache-to.
package solver
