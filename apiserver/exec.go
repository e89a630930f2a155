package apiserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"

	ctypes "github.com/moby/moby/api/types/container"

	"github.com/lade-build/lade/container"
)

// execRecord is one exec instance. Exec records live in the server's
// memory, as dockerd keeps them: an exec id lives as long as the server
// that made it, and a client polls it on that server.
type execRecord struct {
	id, container string
	cfg           ctypes.ExecCreateRequest

	mu      sync.Mutex
	started bool
	running bool
	code    *int
	pid     int
}

// execTable holds a server's exec records by id.
type execTable struct {
	mu sync.Mutex
	m  map[string]*execRecord
}

func (t *execTable) add(e *execRecord) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*execRecord{}
	}
	t.m[e.id] = e
}

func (t *execTable) get(id string) (*execRecord, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[id]; ok {
		return e, nil
	}
	return nil, errorf(http.StatusNotFound, "No such exec instance: %s", id)
}

func (s *Server) execRoutes() {
	s.handle("POST /containers/{id}/exec", s.execCreate)
	s.handle("POST /exec/{id}/start", s.execStart)
	s.handle("GET /exec/{id}/json", s.execInspect)
	s.handle("POST /exec/{id}/resize", func(w http.ResponseWriter, r *http.Request) error {
		e, err := s.execs.get(r.PathValue("id"))
		if err != nil {
			return err
		}
		h, wd, err := sizeQuery(r)
		if err != nil {
			return err
		}
		e.mu.Lock()
		pid := e.pid
		e.mu.Unlock()
		if e.cfg.Tty && pid != 0 && h > 0 && wd > 0 {
			if err := container.ResizeTerminal(pid, h, wd); err != nil {
				return err
			}
		}
		w.WriteHeader(http.StatusOK)
		return nil
	})
}

func (s *Server) execCreate(w http.ResponseWriter, r *http.Request) error {
	c, err := s.container(r)
	if err != nil {
		return err
	}
	var req ctypes.ExecCreateRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if len(req.Cmd) == 0 {
		return errorf(http.StatusBadRequest, "No exec command specified")
	}
	if !isRunning(c) || !s.stores.Containers.Running(c.ID) {
		return errorf(http.StatusConflict, "container %s is not running", c.ID)
	}
	if c.State.Paused {
		return errorf(http.StatusConflict, "container %s is paused, unpause the container before exec", c.ID)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	e := &execRecord{id: hex.EncodeToString(b), container: c.ID, cfg: req}
	s.execs.add(e)
	return writeJSON(w, http.StatusCreated, ctypes.ExecCreateResponse{ID: e.id})
}

// execStart runs the exec as `lade exec` does (container.Store.Exec, or
// ExecDetached for Detach): on the hijacked connection, its output in
// frames or raw with a terminal, the client's stdin as its stdin.
func (s *Server) execStart(w http.ResponseWriter, r *http.Request) error {
	e, err := s.execs.get(r.PathValue("id"))
	if err != nil {
		return err
	}
	var req ctypes.ExecStartRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	c, err := s.containerNamed(e.container)
	if err != nil {
		return err
	}
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return errorf(http.StatusConflict, "Error: Exec command %s is already running", e.id)
	}
	e.started = true
	e.mu.Unlock()
	o := container.ExecOptions{Args: e.cfg.Cmd, Env: e.cfg.Env, Cwd: e.cfg.WorkingDir, User: e.cfg.User,
		Tty: e.cfg.Tty, Privileged: e.cfg.Privileged, Pid: e.setPid}
	ctx := context.WithoutCancel(r.Context()) // the process outlives a hijacked request's context
	if req.Detach {
		o.Exited = e.exited
		e.mu.Lock()
		e.running = true
		e.mu.Unlock()
		if err := s.stores.Containers.ExecDetached(ctx, c, o); err != nil {
			e.exited(126)
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	conn, in, err := hijack(w, r, e.cfg.Tty)
	if err != nil {
		return err
	}
	defer conn.Close()
	o.Stdout, o.Stderr = streams(conn, e.cfg.Tty, e.cfg.AttachStdout, e.cfg.AttachStderr)
	if e.cfg.AttachStdin {
		o.Stdin = in
	}
	code, err := s.stores.Containers.Exec(ctx, c, o)
	if err != nil {
		// Past the status line: the client reads the error as output,
		// and the exit code from the exec's inspect, as with dockerd.
		fmt.Fprintf(o.Stderr, "lade: exec failed: %v\n", err)
		code = 126
	}
	e.exited(code)
	return nil
}

// exited records the exec's end and exit status.
func (e *execRecord) exited(code int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.running, e.code = false, &code
}

func (e *execRecord) setPid(pid int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pid, e.running = pid, true
}

func (s *Server) execInspect(w http.ResponseWriter, r *http.Request) error {
	e, err := s.execs.get(r.PathValue("id"))
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	priv := e.cfg.Privileged
	return writeJSON(w, http.StatusOK, ctypes.ExecInspectResponse{
		ID: e.id, Running: e.running, ExitCode: e.code, ContainerID: e.container, Pid: e.pid,
		OpenStdin: e.cfg.AttachStdin, OpenStdout: e.cfg.AttachStdout, OpenStderr: e.cfg.AttachStderr,
		ProcessConfig: &ctypes.ExecProcessConfig{Tty: e.cfg.Tty, Entrypoint: e.cfg.Cmd[0], Arguments: e.cfg.Cmd[1:],
			Privileged: &priv, User: e.cfg.User},
	})
}
