package apiserver

import (
	"net/http"

	"github.com/moby/moby/api/types/common"

	"github.com/lade-build/lade/images"
)

// commit is docker commit: container's changes stored as an image under
// repo:tag, as `lade commit` stores it (engine's Commit); the changes
// query parameters are its -c instructions. The container is not paused.
func (s *Server) commit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ref := q.Get("container")
	if _, err := s.containerNamed(ref); err != nil {
		return err
	}
	o := images.CommitOptions{Author: q.Get("author"), Comment: q.Get("comment"), Changes: q["changes"]}
	if repo := q.Get("repo"); repo != "" {
		o.Ref = repo
		if tag := q.Get("tag"); tag != "" {
			o.Ref += ":" + tag
		}
	}
	img, err := s.stores.Commit(r.Context(), ref, o)
	if err != nil {
		return noSuch("container", ref, err)
	}
	id, err := img.ConfigName()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, common.IDResponse{ID: id.String()})
}
