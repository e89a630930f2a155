// Package parser reads a Dockerfile with BuildKit's own parser and
// instruction decoder, so every instruction, flag, heredoc and parser
// directive means exactly what it means to BuildKit. It adds what lade needs
// on top: the source lines for error snippets, lint warnings collected from
// the `check` directive, and errors that name their Dockerfile line.
//
// Lifecycle: Parse once per build; the solver then expands variables and
// executes the stages it returns (in place: a build of several platforms
// works on a Clone per platform).
package parser
