// Package apiserver is `lade serve`: the Docker Engine API over lade's
// stores, so docker's own clients (the docker CLI, docker-py, compose)
// drive lade.
//
// A Server answers from one lade root, the CLI's --root: it opens the
// stores as a CLI command does and keeps none of their state, so the CLI
// and the API see the same images, containers, volumes and networks at
// the same time; lade processes coordinate through the root's locks.
// Requests run concurrently, with no lock of the server's own.
//
// Every handler calls the package functions the CLI's commands call
// (engine for the docker-shaped records, list filters, pull, tag, rmi
// and network prune; sysinfo for version and info; images, container
// and network for the rest) and answers with the Engine API's types,
// github.com/moby/moby/api/types. A create request is mapped onto
// container.CreateOptions (createOptions), the options `lade run` and
// `lade create` fill from their flags. Pull and push stream docker's JSON
// messages, made from the stores' progress lines. Paths take an
// optional /vX.Y prefix, from MinVersion (1.41, docker 20.10) to
// MaxVersion (the types' version); others get dockerd's 400. Errors are
// dockerd's {"message": ...} with its status codes: 404 for no such
// object, 409 for conflicts, 400 for bad parameters, 500 otherwise, and
// 501 for the endpoints lade does not serve yet (listed in
// notImplemented).
//
// Attach hijacks the connection as dockerd does (101 UPGRADED, then the
// raw or multiplexed stream) and calls container.Store.Attach, as `lade
// attach` does, with Pending: docker run attaches before it starts the
// container. Exec start hijacks the same way and calls
// container.Store.Exec (ExecDetached for Detach), as `lade exec`; exec
// records live in the Server's memory (execTable), as dockerd's do.
// Archive (docker cp) goes through dockercp.InContainer, as `lade cp`;
// build is the classic builder's endpoint over the solver wired by
// localbuild, as `lade build` wires it. Events go through events.Show
// (`lade events`; without since or until only new ones, as dockerd, with
// the legacy status/id/from fields docker-compose 1.29 reads), commit
// and image prune through engine's Commit and PruneImages, update
// through container.Store.Update, system df and builder prune through
// engine's DiskUsage and PruneBuildCache (`lade system df`, `lade
// builder prune`); system df answers clients before API 1.52 with the
// records they add up themselves (legacyDF). X-Registry-Auth, docker's
// credentials for one pull or push, is used for that request instead of
// the stored ones.
//
// Options.Debug (lade serve -D) gets a line per request and per error
// answered, to see what a client calls and what it lacks.
//
// Listen opens the -H addresses as dockerd does: unix sockets with mode
// 0660 and group "lade" when it exists, TCP beyond loopback only with
// TLS. Serve answers on them until its context ends.
package apiserver
