// Package events is lade's docker-style event log. lade has no daemon to
// see things happen, so the commands (and a container's supervisor) that
// make them happen record them: Record appends one Engine API
// events.Message as a JSON line to <root>/events.log, under the flock of
// <root>/events.lock, so concurrent lade processes never interleave
// lines. When the log passes MaxSize it is rotated to events.log.1 (the
// older one dropped), which bounds the disk it takes.
//
// Read returns the recorded messages in a time window that match a
// Filter; Follow then delivers new ones as they are appended (polling,
// across rotations) until its context ends. Readers skip lines that are
// not events, or longer than any Record writes, in bounded memory; a
// line still being written is read once it is whole. Show is the two in
// turn, for `lade events` and the API's events endpoint alike; as
// dockerd, it replays the past only when given a since or an until.
package events
