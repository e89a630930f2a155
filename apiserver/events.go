package apiserver

import (
	"encoding/json"
	"net/http"
	"time"

	etypes "github.com/moby/moby/api/types/events"

	"github.com/lade-build/lade/events"
	"github.com/lade-build/lade/internal/dockertime"
)

// systemEvents streams the root's recorded events as `lade events`
// shows them (events.Show): those in [since, until] (none without
// either), then, without a past until, new ones until the client goes;
// one JSON message a line.
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
		err := enc.Encode(withLegacy(m))
		flush()
		return err
	}))
}

// legacyMessage is an event with the fields API 1.21 had, which dockerd
// kept filling for container and image events until API 1.52 and which
// docker-compose 1.29 (docker-py) still reads whatever version it
// negotiated: status (the action), id and from (the image).
type legacyMessage struct {
	Status string `json:"status,omitempty"`
	ID     string `json:"id,omitempty"`
	From   string `json:"from,omitempty"`
	*events.Message
}

func withLegacy(m *events.Message) legacyMessage {
	l := legacyMessage{Message: m}
	switch m.Type {
	case etypes.ContainerEventType:
		l.Status, l.ID, l.From = string(m.Action), m.Actor.ID, m.Actor.Attributes["image"]
	case etypes.ImageEventType:
		l.Status, l.ID = string(m.Action), m.Actor.ID
	}
	return l
}
