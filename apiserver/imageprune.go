package apiserver

import (
	"net/http"
	"strings"
	"time"

	itypes "github.com/moby/moby/api/types/image"

	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/internal/prunefilter"
)

// imagePrune is docker image prune: the images untagged as `lade image
// prune` untags them (engine's PruneImages); dangling=false is its -a.
// Their blobs are reclaimed by the next collection (`lade image prune`,
// `lade builder prune`), so SpaceReclaimed is 0.
func (s *Server) imagePrune(w http.ResponseWriter, r *http.Request) error {
	filters, err := filterArgs(r)
	if err != nil {
		return err
	}
	var o images.PruneOptions
	var rest []string
	for _, f := range filters {
		switch f {
		case "dangling=false", "dangling=0":
			o.All = true
		case "dangling=true", "dangling=1":
		default:
			rest = append(rest, f)
		}
	}
	if o.Filter, err = prunefilter.Parse(rest, time.Now()); err != nil {
		return badParameter(err)
	}
	removed, err := s.stores.PruneImages(r.Context(), o)
	if err != nil {
		return err
	}
	rep := itypes.PruneReport{ImagesDeleted: []itypes.DeleteResponse{}}
	for _, l := range removed {
		rep.ImagesDeleted = append(rep.ImagesDeleted, itypes.DeleteResponse{Deleted: strings.TrimPrefix(l, "deleted: ")})
	}
	return writeJSON(w, http.StatusOK, rep)
}
