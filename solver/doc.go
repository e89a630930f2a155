// Package solver turns a parsed Dockerfile into an image.
//
// It holds the stage DAG and its scheduling (solver.go), the instructions
// (dispatch.go, run.go, copy.go) with what RUN needs around the process
// (--mount of bind, cache, tmpfs, secret and ssh; secrets, ssh agents and
// entitlements), the step cache keys and their explanations (cachekey.go),
// the lazy use of cached layers (lazy.go), the image it assembles
// (image.go) and BuildKit's names for the steps it shows (vertexname.go).
//
// A Builder holds one root's stores, each behind what the solver calls so
// tests can swap it: a Snapshotter (OverlaySnapshots in lade; a directory
// fake in tests, so graph tests need no root), the content store, the
// cache index, an ImageSource for base images and an Executor for RUN
// processes. What one build decides (stage states, records, the progress
// numbering) lives only as long as its Build call; what outlives it is in
// those stores and the cache mount dirs.
//
// A build first plans: the global ARGs, .dockerignore and every stage's
// dependencies (FROM, COPY --from, RUN --mount from=) are read before
// anything runs, and a missing required secret or agent fails it then.
// Then the FROM images of the needed stages are resolved, all at once
// (resolveBases), so an image the ImageSource refuses fails the build
// before any step runs. The target and, eagerly, every stage it needs start at once, so
// independent stages run in parallel and stages nobody needs never run.
// Within a stage, instructions run in order: metadata instructions change
// the image config only; RUN, COPY, ADD and WORKDIR (except WORKDIR /) are
// layer steps. A layer step's cache key is its parent's key and its named
// inputs (instruction, build args, source digests, mount specs; never
// secret values). A hit reuses the stored layer without unpacking it; a
// miss mounts a snapshot of the stage's layers (unpacking those not yet
// unpacked), runs the step and stores the change as a new layer, an empty
// one if nothing changed, as in BuildKit. Build ends by assembling the
// target's image from blobs, with every step's cache record for
// --cache-to.
//
// BuildPlatforms runs one such build per target platform at once
// (multi.go, platform.go), on its own copy of the Dockerfile, sharing the
// Builder, the .dockerignore read, the base image resolutions and the
// unpacks. A step's key names its stage's platform (FROM --platform, else
// the target's), so a build-platform stage that reads no TARGET* arg has
// the same keys in every build; a per-key lock makes the second build to
// reach such a step wait and take its result (from the cache, or with
// the cache off from the steps this command ran). Index lists the
// results with their platforms.
//
// Options also carry what buildx's flags add (named.go, sandbox.go):
// named contexts, which FROM, COPY --from and RUN --mount from= look up
// before stages and images (a directory one is copied into a scratch
// stage for FROM), and the RUN sandbox's extra /etc/hosts lines,
// rlimits (set on the init before it starts the command) and /dev/shm
// size, which enter RUN keys only when set.
package solver
