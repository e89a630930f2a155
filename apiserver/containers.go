package apiserver

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ctypes "github.com/moby/moby/api/types/container"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/events"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/internal/prunefilter"
)

func (s *Server) containerRoutes() {
	s.handle("GET /containers/json", s.containerList)
	s.handle("POST /containers/create", s.containerCreate)
	s.handle("GET /containers/{id}/json", func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.container(r)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, s.stores.InspectContainer(r.Context(), c, boolQuery(r, "size")))
	})
	s.handle("POST /containers/{id}/start", s.containerStart)
	s.handle("POST /containers/{id}/stop", s.containerStop)
	s.handle("POST /containers/{id}/restart", s.containerRestart)
	s.handle("POST /containers/{id}/kill", s.containerKill)
	s.handle("POST /containers/{id}/wait", s.containerWait)
	s.handle("GET /containers/{id}/logs", s.containerLogs)
	s.handle("POST /containers/prune", s.containerPrune)
	s.handle("GET /containers/{id}/changes", func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.container(r)
		if err != nil {
			return err
		}
		changes, err := s.stores.Containers.Changes(r.Context(), &c.Config)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, nonNil(changes))
	})
	s.handle("GET /containers/{id}/export", func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.container(r)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/x-tar")
		return writeOnly(s.stores.Containers.Export(r.Context(), &c.Config, w))
	})
	s.handle("POST /containers/{id}/rename", func(w http.ResponseWriter, r *http.Request) error {
		return noContent(w, s.stores.Containers.Rename(r.PathValue("id"), r.URL.Query().Get("name")), r.PathValue("id"))
	})
	s.handle("POST /containers/{id}/pause", func(w http.ResponseWriter, r *http.Request) error {
		return noContent(w, s.stores.Containers.Pause(r.PathValue("id")), r.PathValue("id"))
	})
	s.handle("POST /containers/{id}/unpause", func(w http.ResponseWriter, r *http.Request) error {
		return noContent(w, s.stores.Containers.Unpause(r.PathValue("id")), r.PathValue("id"))
	})
	s.handle("DELETE /containers/{id}", func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.container(r)
		if err != nil {
			return err
		}
		if err := s.stores.Containers.Remove(r.Context(), c.ID, boolQuery(r, "force"), boolQuery(r, "v")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// noContent answers 204 after an action on container ref that returned
// err, or docker's error.
func noContent(w http.ResponseWriter, err error, ref string) error {
	if err != nil {
		return noSuch("container", ref, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// container is the container the path's {id} names.
func (s *Server) container(r *http.Request) (*container.Container, error) {
	return s.containerNamed(r.PathValue("id"))
}

// containerNamed is the container ref names, or docker's 404.
func (s *Server) containerNamed(ref string) (*container.Container, error) {
	c, err := s.stores.Containers.Get(ref)
	if err != nil {
		return nil, noSuch("container", ref, err)
	}
	return c, nil
}

func (s *Server) containerList(w http.ResponseWriter, r *http.Request) error {
	filters, err := filterArgs(r)
	if err != nil {
		return err
	}
	limit, err := intQuery(r, "limit", -1)
	if err != nil {
		return err
	}
	all, err := s.stores.Containers.List()
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = -1 // docker's clients send 0 for no limit
	}
	list, err := engine.ListContainers(all, engine.ListOptions{All: boolQuery(r, "all"), Last: limit, Filters: filters})
	if err != nil {
		return badParameter(err)
	}
	return writeJSON(w, http.StatusOK, s.stores.ContainerSummaries(r.Context(), list, boolQuery(r, "size")))
}

// containerCreate is docker create: the image must be in the store (the
// client pulls on 404, as with dockerd), then the same creation as
// `lade create`.
func (s *Server) containerCreate(w http.ResponseWriter, r *http.Request) error {
	var req ctypes.CreateRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if req.Config == nil || req.Image == "" {
		return errorf(http.StatusBadRequest, "config cannot be empty in order to create a container")
	}
	o, err := createOptions(r.URL.Query().Get("name"), req)
	if err != nil {
		return err
	}
	if err := o.CheckPublish(); err != nil {
		return badParameter(err)
	}
	img, err := s.storedImage(r, req.Image)
	if err != nil {
		return err
	}
	ci, err := engine.ContainerImage(r.Context(), s.o.Snapshots, req.Image, img)
	if err != nil {
		return err
	}
	cfg, err := s.stores.Containers.CreateFromImage(r.Context(), ci, o)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, ctypes.CreateResponse{ID: cfg.ID, Warnings: []string{}})
}

// storedImage is ref's image in the store for the request's platform.
func (s *Server) storedImage(r *http.Request, ref string) (img v1.Image, err error) {
	if p := r.URL.Query().Get("platform"); p != "" {
		plat, perr := images.ParsePlatform(p)
		if perr != nil {
			return nil, badParameter(perr)
		}
		img, err = s.o.Images.GetPlatform(r.Context(), ref, plat)
	} else {
		img, err = s.o.Images.Get(r.Context(), ref)
	}
	if err != nil {
		return nil, noSuch("image", ref, err)
	}
	return img, nil
}

func (s *Server) containerStart(w http.ResponseWriter, r *http.Request) error {
	c, err := s.container(r)
	if err != nil {
		return err
	}
	if isRunning(c) && s.stores.Containers.Running(c.ID) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	// The shim outlives the request: the container must not end with it.
	if err := s.stores.Containers.StartShim(context.WithoutCancel(r.Context()), c.ID, ""); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func isRunning(c *container.Container) bool {
	return c.State.Status == container.StatusRunning || c.State.Status == container.StatusRestarting
}

// stopTimeout is the t parameter, else the container's stop timeout,
// else docker's 10s.
func stopTimeout(r *http.Request, c *container.Container) (time.Duration, error) {
	def := 10
	if c.StopTimeout > 0 {
		def = c.StopTimeout
	}
	t, err := intQuery(r, "t", def)
	return time.Duration(t) * time.Second, err
}

func (s *Server) containerStop(w http.ResponseWriter, r *http.Request) error {
	c, err := s.container(r)
	if err != nil {
		return err
	}
	if !s.stores.Containers.Running(c.ID) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	t, err := stopTimeout(r, c)
	if err != nil {
		return err
	}
	if err := s.stores.Containers.Stop(context.WithoutCancel(r.Context()), c, t); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) containerRestart(w http.ResponseWriter, r *http.Request) error {
	c, err := s.container(r)
	if err != nil {
		return err
	}
	t, err := stopTimeout(r, c)
	if err != nil {
		return err
	}
	return noContent(w, s.stores.Containers.Restart(context.WithoutCancel(r.Context()), c, t), c.ID)
}

// killWait bounds how long a SIGKILL's answer waits for the exit.
const killWait = 10 * time.Second

func (s *Server) containerKill(w http.ResponseWriter, r *http.Request) error {
	c, err := s.container(r)
	if err != nil {
		return err
	}
	sig := r.URL.Query().Get("signal")
	if sig == "" {
		sig = "KILL"
	}
	n, err := container.ParseSignal(sig)
	if err != nil {
		return badParameter(err)
	}
	if err := s.stores.Containers.Kill(c.ID, n); err != nil {
		return err
	}
	if n == syscall.SIGKILL {
		// As dockerd: a kill answers once the container is gone, so the
		// client's next inspect sees it exited.
		ctx, cancel := context.WithTimeout(r.Context(), killWait)
		defer cancel()
		_, _ = s.stores.Containers.Wait(ctx, c.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// containerWait answers at once with the status line, then, when the
// condition is met, the exit code: clients start the container between.
func (s *Server) containerWait(w http.ResponseWriter, r *http.Request) error {
	c, err := s.container(r)
	if err != nil {
		return err
	}
	cond := ctypes.WaitCondition(r.URL.Query().Get("condition"))
	switch cond {
	case "", ctypes.WaitConditionNotRunning, ctypes.WaitConditionNextExit, ctypes.WaitConditionRemoved:
	default:
		return badParameter(errors.New("invalid condition: " + string(cond)))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	resp := ctypes.WaitResponse{}
	code, err := s.waitFor(r.Context(), c, cond)
	resp.StatusCode = int64(code)
	if err != nil {
		resp.Error = &ctypes.WaitExitError{Message: err.Error()}
	}
	return writeBody(w, resp)
}

// waitFor waits for c to meet cond and returns its exit code. A created
// container is not running: not-running is met at once.
func (s *Server) waitFor(ctx context.Context, c *container.Container, cond ctypes.WaitCondition) (int, error) {
	cs := s.stores.Containers
	if (cond == "" || cond == ctypes.WaitConditionNotRunning) && c.State.Status == container.StatusCreated && !cs.Running(c.ID) {
		return c.State.ExitCode, nil
	}
	if cond != ctypes.WaitConditionRemoved {
		return cs.Wait(ctx, c.ID)
	}
	// Until it is gone, with the exit code it last recorded. A container
	// with AutoRemove is removed by its shim right after the exit: a poll
	// may miss the exited state, and then its die event has the code.
	code := c.State.ExitCode
	for {
		cur, err := cs.Get(c.ID)
		switch {
		case err == nil && cur.State.Status == container.StatusExited:
			code = cur.State.ExitCode
		case errors.Is(err, container.ErrNotFound) && s.gone(c.ID):
			return s.lastExit(c.ID, code), nil
		case err != nil && !errors.Is(err, container.ErrNotFound):
			return -1, err
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// lastExit is the exit code of container id's last die event, or def.
func (s *Server) lastExit(id string, def int) int {
	f, err := events.ParseFilter([]string{"container=" + id, "event=die"})
	if err != nil {
		return def
	}
	msgs, cur, err := events.Read(s.stores.Containers.Root(), time.Time{}, time.Time{}, f)
	if err != nil {
		return def
	}
	cur.Close()
	if len(msgs) == 0 {
		return def
	}
	code, err := strconv.Atoi(msgs[len(msgs)-1].Actor.Attributes["exitCode"])
	if err != nil {
		return def
	}
	return code
}

// gone says whether container id's directory is removed: a container
// Get misses while its files are rewritten is still there.
func (s *Server) gone(id string) bool {
	_, err := os.Stat(s.stores.Containers.Dir(id))
	return errors.Is(err, os.ErrNotExist)
}

func (s *Server) containerPrune(w http.ResponseWriter, r *http.Request) error {
	filters, err := filterArgs(r)
	if err != nil {
		return err
	}
	f, err := prunefilter.Parse(filters, time.Now())
	if err != nil {
		return badParameter(err)
	}
	p, err := s.stores.Containers.PruneStopped(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ctypes.PruneReport{ContainersDeleted: nonNil(p.Removed), SpaceReclaimed: uint64(max(p.Reclaimed, 0))})
}
