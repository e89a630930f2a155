// Package solver turns a parsed Dockerfile into an image.
//
// Each stage is a vertex of a DAG: a stage depends on the stages it names in
// FROM, COPY --from and RUN --mount from=. Build starts the target stage and,
// eagerly, every stage it depends on, so independent stages run in parallel
// and stages nobody needs never run. Within a stage, instructions run in
// order; metadata instructions only change the image config, while RUN, COPY,
// ADD and WORKDIR (except WORKDIR /) each prepare an overlay snapshot over the
// stage's layers, change it, and turn the upper dir into a new layer, an
// empty one if nothing changed, as in BuildKit.
//
// Before a layer step runs, its cache key (its parent's key and its named
// inputs: instruction, build args, source digests, mount specs; never
// secret values) is looked up in the Builder's cache.Index; a hit reuses
// the stored layer, and every step's record is returned in the Result for
// --cache-to.
// Steps are shown as BuildKit's Dockerfile frontend names them, through the
// progress package. The package also holds what RUN needs around the
// process: --mount (bind, cache, tmpfs, secret, ssh), secrets and ssh
// agents, and entitlements.
//
// A Builder holds one root's stores: the concrete snapshotter, content store
// and index, plus two interfaces that tests swap, an ImageSource for base
// images and an Executor for RUN processes. What one build decides (stage
// states, records, the progress numbering) lives only as long as its Build
// call; what outlives it is in those stores and the cache mount dirs.
package solver
