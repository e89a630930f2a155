package progress

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// SolveStatus is one rawjson record, the JSON form of BuildKit's
// client.SolveStatus (vertexes, statuses and logs, data as base64), so
// tools that read `buildx build --progress=rawjson` can read lade's too.
// One record is written per status change.
type SolveStatus struct {
	Vertexes []Vertex       `json:"vertexes,omitempty"`
	Statuses []VertexStatus `json:"statuses,omitempty"`
	Logs     []VertexLog    `json:"logs,omitempty"`
}

// Vertex is a step starting or ending, as BuildKit's client.Vertex.
type Vertex struct {
	Digest    string     `json:"digest"`
	Name      string     `json:"name,omitempty"`
	Started   *time.Time `json:"started,omitempty"`
	Completed *time.Time `json:"completed,omitempty"`
	Cached    bool       `json:"cached,omitempty"`
	Error     string     `json:"error,omitempty"`
}

// VertexLog is output of a step (stream 1) or a free-standing line of no
// vertex (stream 2), as BuildKit's client.VertexLog.
type VertexLog struct {
	Vertex    string    `json:"vertex"`
	Stream    int       `json:"stream"`
	Data      []byte    `json:"data"`
	Timestamp time.Time `json:"timestamp"`
}

type jsonDisplay struct{ w io.Writer }

// vertexDigest names a step stably within one build, as a vertex digest.
func vertexDigest(s *Step) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256(fmt.Appendf(nil, "%d\x00%s", s.id, s.name)))
}

func (d *jsonDisplay) emit(st SolveStatus) {
	b, err := json.Marshal(st)
	if err != nil {
		return
	}
	d.w.Write(append(b, '\n'))
}

func (d *jsonDisplay) start(s *Step) {
	t := s.start.UTC()
	d.emit(SolveStatus{Vertexes: []Vertex{{Digest: vertexDigest(s), Name: s.name, Started: &t}}})
}

func (d *jsonDisplay) output(s *Step, line []byte) {
	data := append(append([]byte(nil), line...), '\n')
	d.emit(SolveStatus{Logs: []VertexLog{{Vertex: vertexDigest(s), Stream: 1, Data: data, Timestamp: time.Now().UTC()}}})
}

func (d *jsonDisplay) done(s *Step, ev Event) {
	start, now := s.start.UTC(), time.Now().UTC()
	v := Vertex{Digest: vertexDigest(s), Name: s.name, Started: &start, Completed: &now, Cached: ev.Cached, Error: ev.Err}
	if ev.Cached {
		v.Started = &now
	}
	d.emit(SolveStatus{Vertexes: []Vertex{v}})
}

// printf has no vertex: it goes out as a log of the empty vertex on stderr.
func (d *jsonDisplay) printf(text string) {
	d.emit(SolveStatus{Logs: []VertexLog{{Stream: 2, Data: []byte(text), Timestamp: time.Now().UTC()}}})
}

func (d *jsonDisplay) close() {}
