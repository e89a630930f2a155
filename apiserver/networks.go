package apiserver

import (
	"net/http"

	ntypes "github.com/moby/moby/api/types/network"

	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/network"
)

func (s *Server) networkRoutes() {
	ns := s.stores.Networks
	s.handle("GET /networks", func(w http.ResponseWriter, r *http.Request) error {
		filters, err := filterArgs(r)
		if err != nil {
			return err
		}
		nets, _, err := ns.List(r.Context())
		if err != nil {
			return err
		}
		if nets, err = network.Filter(nets, filters); err != nil {
			return badParameter(err)
		}
		sums := make([]ntypes.Summary, 0, len(nets))
		for _, n := range nets {
			sums = append(sums, engine.NetworkSummary(n))
		}
		return writeJSON(w, http.StatusOK, sums)
	})
	s.handle("GET /networks/{id}", func(w http.ResponseWriter, r *http.Request) error {
		v, err := s.stores.Inspect(r.Context(), r.PathValue("id"), "network", engine.InspectOptions{})
		if err != nil {
			return noSuch("network", r.PathValue("id"), err)
		}
		return writeJSON(w, http.StatusOK, v)
	})
	s.handle("POST /networks/create", s.networkCreate)
	s.handle("DELETE /networks/{id}", func(w http.ResponseWriter, r *http.Request) error {
		if err := ns.Remove(r.Context(), r.PathValue("id"), s.stores.Alive); err != nil {
			return noSuch("network", r.PathValue("id"), err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	s.handle("POST /networks/{id}/connect", s.networkConnect)
	s.handle("POST /networks/{id}/disconnect", s.networkDisconnect)
	s.handle("POST /networks/prune", func(w http.ResponseWriter, r *http.Request) error {
		removed, err := engine.PruneNetworks(r.Context(), s.stores.Containers, ns)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, ntypes.PruneReport{NetworksDeleted: nonNil(removed)})
	})
}

func (s *Server) networkCreate(w http.ResponseWriter, r *http.Request) error {
	var req ntypes.CreateRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if req.Driver != "" && req.Driver != "bridge" {
		return errorf(http.StatusBadRequest, "network driver %q: lade has only bridge networks", req.Driver)
	}
	o := network.CreateOptions{Name: req.Name, Internal: req.Internal, Labels: req.Labels}
	if req.IPAM != nil && len(req.IPAM.Config) > 0 {
		c := req.IPAM.Config[0]
		if c.Subnet.IsValid() {
			o.Subnet = c.Subnet.String()
		}
		if c.Gateway.IsValid() {
			o.Gateway = c.Gateway.String()
		}
	}
	n, err := s.stores.Networks.Create(r.Context(), o)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, ntypes.CreateResponse{ID: n.ID})
}

func (s *Server) networkConnect(w http.ResponseWriter, r *http.Request) error {
	var req ntypes.ConnectRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	c, err := s.containerNamed(req.Container)
	if err != nil {
		return err
	}
	var aliases []string
	if req.EndpointConfig != nil {
		aliases = req.EndpointConfig.Aliases
	}
	if err := s.stores.Containers.ConnectNetwork(r.Context(), c, r.PathValue("id"), aliases); err != nil {
		return noSuch("network", r.PathValue("id"), err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) networkDisconnect(w http.ResponseWriter, r *http.Request) error {
	var req ntypes.DisconnectRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	c, err := s.containerNamed(req.Container)
	if err != nil {
		return err
	}
	if err := s.stores.Containers.DisconnectNetwork(r.Context(), c, r.PathValue("id")); err != nil {
		return noSuch("network", r.PathValue("id"), err)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
