package apiserver

import (
	"net/http"
	"slices"

	vtypes "github.com/moby/moby/api/types/volume"

	"github.com/lade-build/lade/engine"
)

func (s *Server) volumeRoutes() {
	cs := s.stores.Containers
	s.handle("GET /volumes", func(w http.ResponseWriter, r *http.Request) error {
		filters, err := filterArgs(r)
		if err != nil {
			return err
		}
		vols, err := engine.ListVolumes(cs, filters)
		if err != nil {
			return badParameter(err)
		}
		return writeJSON(w, http.StatusOK, vtypes.ListResponse{Volumes: vols, Warnings: []string{}})
	})
	s.handle("POST /volumes/create", func(w http.ResponseWriter, r *http.Request) error {
		var req vtypes.CreateRequest
		if err := readJSON(r, &req); err != nil {
			return err
		}
		if req.Driver != "" && req.Driver != "local" {
			return errorf(http.StatusBadRequest, "volume driver %q: lade has only the local driver", req.Driver)
		}
		v, err := cs.CreateVolume(req.Name, req.Labels)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, engine.Volume(v, nil))
	})
	s.handle("GET /volumes/{name}", func(w http.ResponseWriter, r *http.Request) error {
		v, err := cs.GetVolume(r.PathValue("name"))
		if err != nil {
			return noSuch("volume", r.PathValue("name"), err)
		}
		return writeJSON(w, http.StatusOK, engine.Volume(v, nil))
	})
	s.handle("DELETE /volumes/{name}", func(w http.ResponseWriter, r *http.Request) error {
		if err := cs.RemoveVolume(r.PathValue("name")); err != nil {
			return noSuch("volume", r.PathValue("name"), err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	s.handle("POST /volumes/prune", func(w http.ResponseWriter, r *http.Request) error {
		filters, err := filterArgs(r)
		if err != nil {
			return err
		}
		// API 1.42 on: anonymous volumes only, unless the all filter.
		all := slices.Contains(filters, "all=true") || slices.Contains(filters, "all=1")
		p, err := cs.PruneVolumes(all)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, vtypes.PruneReport{VolumesDeleted: nonNil(p.Removed), SpaceReclaimed: uint64(max(p.Reclaimed, 0))})
	})
}

// nonNil is s, or an empty slice for nil: docker's lists are [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
