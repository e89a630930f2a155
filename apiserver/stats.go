package apiserver

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// statsInterval is how often a stats stream samples, as dockerd's.
const statsInterval = time.Second

func (s *Server) statsRoutes() {
	s.handle("GET /containers/{id}/top", func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.container(r)
		if err != nil {
			return err
		}
		if !s.stores.Containers.Running(c.ID) {
			return errorf(http.StatusConflict, "container %s is not running", c.ID)
		}
		psArgs := strings.Fields(r.URL.Query().Get("ps_args"))
		top, err := s.stores.Containers.Top(r.Context(), c, psArgs)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, top)
	})
	s.handle("GET /containers/{id}/stats", s.containerStats)
}

// containerStats samples the container's use every second while the
// client reads (stream, the default), or answers one sample: with the
// sample a second before as its Pre* fields, unless one-shot.
func (s *Server) containerStats(w http.ResponseWriter, r *http.Request) error {
	c, err := s.container(r)
	if err != nil {
		return err
	}
	stream := r.URL.Query().Get("stream") == "" || boolQuery(r, "stream")
	cs := s.stores.Containers
	prev := cs.Stats(c, nil)
	if !stream && boolQuery(r, "one-shot") {
		return writeJSON(w, http.StatusOK, prev)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-time.After(statsInterval):
		}
		if cur, err := cs.Get(c.ID); err == nil {
			c = cur
		}
		next := cs.Stats(c, &prev)
		if err := enc.Encode(next); err != nil || !stream {
			return nil
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		prev = next
		if !s.stores.Containers.Running(c.ID) {
			return nil // a stopped container's stream ends, as docker's
		}
	}
}
