package apiserver

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"

	"github.com/lade-build/lade/dockercp"
)

// pathStatHeader carries the stat of an archive's path, base64 JSON.
const pathStatHeader = "X-Docker-Container-Path-Stat"

func (s *Server) archiveRoutes() {
	s.handle("HEAD /containers/{id}/archive", func(w http.ResponseWriter, r *http.Request) error {
		return s.archiveGet(w, r, false)
	})
	s.handle("GET /containers/{id}/archive", func(w http.ResponseWriter, r *http.Request) error {
		return s.archiveGet(w, r, true)
	})
	s.handle("PUT /containers/{id}/archive", s.archivePut)
}

// inContainer runs fn with the request's path in its container, as
// `lade cp` does (dockercp.InContainer).
func (s *Server) inContainer(r *http.Request, fn func(dockercp.Endpoint) error) error {
	c, err := s.container(r)
	if err != nil {
		return err
	}
	p := r.URL.Query().Get("path")
	if p == "" {
		return errorf(http.StatusBadRequest, "bad parameter: path cannot be empty")
	}
	return dockercp.InContainer(s.stores.Containers, c, r.PathValue("id"), p, fn)
}

// archiveGet answers the path's stat in docker's header, and with body
// the path as a tar, as `lade cp CTR:PATH -` writes it.
func (s *Server) archiveGet(w http.ResponseWriter, r *http.Request, body bool) error {
	return s.inContainer(r, func(e dockercp.Endpoint) error {
		st, err := dockercp.Stat(e)
		if err != nil {
			return missing(err)
		}
		js, err := json.Marshal(st)
		if err != nil {
			return err
		}
		w.Header().Set(pathStatHeader, base64.StdEncoding.EncodeToString(js))
		if !body {
			w.WriteHeader(http.StatusOK)
			return nil
		}
		w.Header().Set("Content-Type", "application/x-tar")
		w.WriteHeader(http.StatusOK)
		return writeOnly(dockercp.WriteTar(r.Context(), e, dockercp.Options{}, w))
	})
}

// archivePut extracts the body's tar into the path, a directory, as
// `lade cp - CTR:PATH` does; copyUIDGID keeps the entries' owners.
func (s *Server) archivePut(w http.ResponseWriter, r *http.Request) error {
	return s.inContainer(r, func(e dockercp.Endpoint) error {
		if _, err := dockercp.Stat(e); err != nil {
			return missing(err)
		}
		o := dockercp.Options{Archive: boolQuery(r, "copyUIDGID")}
		if err := dockercp.ExtractTar(r.Context(), r.Body, e, o); err != nil {
			return badParameter(err)
		}
		w.WriteHeader(http.StatusOK)
		return nil
	})
}

// missing is docker's 404 for a path not in the container.
func missing(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errorf(http.StatusNotFound, "%s", err.Error())
	}
	return err
}
