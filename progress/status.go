package progress

import (
	"fmt"
	"time"
)

// Status is one named part of a step's work with its own timing, as
// BuildKit's vertex statuses ("writing layer sha256:…", "exporting
// layers"): plain mode prints "#N name" when it starts and "#N name 0.2s
// done" when it ends, rawjson emits it in "statuses", and the live view
// shows it while the step runs.
type Status struct {
	s       *Step
	id      string
	name    string
	start   time.Time
	end     time.Time
	running bool
}

// Status starts a status named name on the step.
func (s *Step) Status(name string) *Status {
	st := &Status{s: s, id: name, name: name, start: time.Now(), running: true}
	if s.p == nil {
		return st
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if !s.p.closed && !s.done {
		s.statuses = append(s.statuses, st)
		s.p.d.status(s, st)
	}
	return st
}

// Done ends the status; a non-empty name replaces its name (to add what
// only the end knows, a digest say).
func (st *Status) Done(name string) {
	s := st.s
	if s.p == nil {
		return
	}
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if !st.running {
		return
	}
	st.running, st.end = false, time.Now()
	if name != "" {
		st.name = name
	}
	for i, o := range s.statuses {
		if o == st {
			s.statuses = append(s.statuses[:i], s.statuses[i+1:]...)
			break
		}
	}
	if !s.p.closed {
		s.p.d.status(s, st)
	}
}

func (d *plainDisplay) status(s *Step, st *Status) {
	if st.running {
		fmt.Fprintf(d.w, "#%d %s\n", s.id, st.name)
		return
	}
	fmt.Fprintf(d.w, "#%d %s %.1fs done\n", s.id, st.name, st.end.Sub(st.start).Seconds())
}

// The live view draws a running step's statuses from the Step itself.
func (d *ttyDisplay) status(*Step, *Status) {}

// VertexStatus is a Status starting or ending, as BuildKit's
// client.VertexStatus.
type VertexStatus struct {
	ID        string     `json:"id"`
	Vertex    string     `json:"vertex"`
	Name      string     `json:"name,omitempty"`
	Timestamp time.Time  `json:"timestamp"`
	Started   *time.Time `json:"started,omitempty"`
	Completed *time.Time `json:"completed,omitempty"`
}

func (d *jsonDisplay) status(s *Step, st *Status) {
	start := st.start.UTC()
	v := VertexStatus{ID: st.id, Vertex: vertexDigest(s), Name: st.name, Timestamp: time.Now().UTC(), Started: &start}
	if !st.running {
		end := st.end.UTC()
		v.Completed, v.Timestamp = &end, end
	}
	d.emit(SolveStatus{Statuses: []VertexStatus{v}})
}
