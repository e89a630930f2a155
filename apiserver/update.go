package apiserver

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/lade-build/lade/container"
)

// containerUpdate is docker update: the limits and restart policy lade
// keeps (memory, swap, CPUs, CPU shares, pids, restart), applied as
// `lade update` applies them (container.Store.Update); fields left zero
// are left alone, as in dockerd.
func (s *Server) containerUpdate(w http.ResponseWriter, r *http.Request) error {
	c, err := s.container(r)
	if err != nil {
		return err
	}
	var req ctypes.UpdateConfig
	if err := readJSON(r, &req); err != nil {
		return err
	}
	var o container.UpdateOptions
	if req.Memory != 0 {
		o.Memory = strconv.FormatInt(req.Memory, 10)
	}
	if req.MemorySwap != 0 {
		o.MemorySwap = strconv.FormatInt(req.MemorySwap, 10)
	}
	if req.NanoCPUs != 0 {
		cpus := float64(req.NanoCPUs) / 1e9
		o.CPUs = &cpus
	}
	if req.CPUShares != 0 {
		o.CPUShares = &req.CPUShares
	}
	o.PidsLimit = req.PidsLimit
	if req.RestartPolicy.Name != "" {
		p := restartPolicy(req.RestartPolicy)
		o.Restart = &p
	}
	var warn bytes.Buffer
	if err := s.stores.Containers.Update(r.Context(), c.ID, o, &warn); err != nil {
		return badParameter(err)
	}
	warnings := []string{}
	for _, l := range strings.Split(strings.TrimSpace(warn.String()), "\n") {
		if l != "" {
			warnings = append(warnings, l)
		}
	}
	return writeJSON(w, http.StatusOK, ctypes.UpdateResponse{Warnings: warnings})
}
