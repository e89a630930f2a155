// Package solver turns a parsed Dockerfile into an image.
//
// Each stage is a vertex of a DAG: a stage depends on the stages it names in
// FROM, COPY --from and RUN --mount from=. Build starts the target stage and,
// eagerly, every stage it depends on, so independent stages run in parallel
// and stages nobody needs never run. Within a stage, instructions run in
// order; metadata instructions only change the image config, while RUN, COPY,
// ADD and WORKDIR each prepare an overlay snapshot over the stage's layers,
// change it, and turn the upper dir into a new layer (none if it is empty).
//
// The solver only talks to its neighbours through small interfaces: an
// ImageSource for base images and an Executor for RUN processes, so tests can
// swap either.
package solver
