package apiserver

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/lade-build/lade/events"
	"github.com/lade-build/lade/internal/dockertime"
)

// systemEvents streams the root's recorded events as `lade events`
// shows them (events.Show): those in [since, until], then, without a
// past until, new ones until the client goes; one JSON message a line.
func (s *Server) systemEvents(w http.ResponseWriter, r *http.Request) error {
	now := time.Now()
	since, err := dockertime.Parse(r.URL.Query().Get("since"), now)
	if err != nil {
		return badParameter(err)
	}
	until, err := dockertime.Parse(r.URL.Query().Get("until"), now)
	if err != nil {
		return badParameter(err)
	}
	flags, err := filterArgs(r)
	if err != nil {
		return err
	}
	f, err := events.ParseFilter(flags)
	if err != nil {
		return badParameter(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
	}
	flush() // clients wait for the status line before they go on
	enc := json.NewEncoder(w)
	return writeOnly(events.Show(r.Context(), s.stores.Containers.Root(), since, until, f, func(m *events.Message) error {
		err := enc.Encode(m)
		flush()
		return err
	}))
}
