// Package progress shows the steps of a build and of what follows it
// (exports, pushes, cache transfers) as buildx does: plain prints
// "#N NAME", the step's output as "#N <seconds> <line>", its statuses
// ("#N writing layer sha256:… 0.2s done") and then "#N DONE 0.3s",
// "#N CACHED" or "#N ERROR: ..."; tty keeps a live view of the running
// steps; rawjson writes one BuildKit SolveStatus record per change; quiet
// shows nothing.
//
// A Printer lives for one command: New opens it on a writer, Start opens
// a Step, the step's output, Status and Done or Cached go to the display
// as they happen, Printf adds free-standing lines, and Close ends the
// live view. Names are the caller's: the solver names steps as BuildKit's
// Dockerfile frontend does.
package progress
