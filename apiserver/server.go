package apiserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/lade-build/lade/cache"
	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/network"
	"github.com/lade-build/lade/snapshot"
	"github.com/lade-build/lade/sysinfo"
)

// Options are what a Server serves: the stores of one lade root, opened
// by the caller as the CLI opens them.
type Options struct {
	Root      string
	Images    *images.Store
	Snapshots *snapshot.Snapshotter
	Content   *cache.Store // the build's content store
	Insecure  []string     // --insecure-registry hosts, for pull and push
	// Policy is serve's --signature-policy; "" is the system's or the
	// user's, as for the CLI. Every pull the API makes must pass it.
	Policy string
	Debug  io.Writer // when set, gets a line per request and per error (lade serve --debug)
}

// Server answers the Engine API from one lade root. It keeps no state of
// the stores: every request reads them, as a CLI command would.
type Server struct {
	o      Options
	stores engine.Stores
	mux    *http.ServeMux
	execs  execTable
}

// New opens the root's container and network stores and routes the
// endpoints lade serves.
func New(o Options) (*Server, error) {
	cs, err := container.Open(o.Root)
	if err != nil {
		return nil, err
	}
	ns, err := network.Open(filepath.Join(o.Root, "networks"))
	if err != nil {
		return nil, err
	}
	s := &Server{o: o, mux: http.NewServeMux(),
		stores: engine.Stores{Containers: cs, Images: o.Images, Networks: ns, Alive: cs.Running}}
	s.routes()
	return s, nil
}

// ServeHTTP takes the /vX.Y prefix off, refuses versions out of range,
// sets docker's headers and hands the request to its endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.debugf("%s %s", r.Method, r.URL.RequestURI())
	setHeaders(w)
	path, version, ok := splitVersion(r.URL.Path)
	if ok {
		if err := checkVersion(version); err != nil {
			writeError(w, err)
			return
		}
		r2 := r.Clone(context.WithValue(r.Context(), versionKey{}, version))
		r2.URL.Path = path
		r2.URL.RawPath = ""
		r = r2
	}
	s.mux.ServeHTTP(w, r)
}

// setHeaders sets what dockerd sets on every response; clients read the
// API version and OS from them (the CLI on _ping).
func setHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Api-Version", MaxVersion)
	h.Set("Docker-Experimental", "false")
	h.Set("Ostype", runtime.GOOS)
	h.Set("Server", serverHeader)
}

// serverHeader names lade as dockerd's Server header names Docker.
var serverHeader = func() string {
	v, _, _ := sysinfo.Build()
	return "lade/" + strings.TrimPrefix(v, "v") + " (" + runtime.GOOS + ")"
}()

// debugf writes a line to the debug log, if there is one.
func (s *Server) debugf(format string, args ...any) {
	if s.o.Debug != nil {
		fmt.Fprintf(s.o.Debug, "lade serve: "+format+"\n", args...)
	}
}

// handle routes pattern ("METHOD /path") to h, which returns an error
// written as docker's error body.
func (s *Server) handle(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.debugf("%s %s: %d %v", r.Method, r.URL.Path, statusOf(err), err)
			writeError(w, err)
		}
	})
}

// routes lists the endpoints; the ones lade lacks answer 501 and the rest
// of docker's paths 404, each in docker's error shape.
func (s *Server) routes() {
	s.systemRoutes()
	s.imageRoutes()
	s.containerRoutes()
	s.attachRoutes()
	s.execRoutes()
	s.archiveRoutes()
	s.handle("POST /build", s.build)
	s.handle("GET /events", s.systemEvents)
	s.handle("POST /commit", s.commit)
	s.handle("POST /containers/{id}/update", s.containerUpdate)
	s.handle("POST /images/prune", s.imagePrune)
	s.handle("GET /system/df", s.systemDF)
	s.handle("POST /build/prune", s.buildPrune)
	s.handle("POST /auth", s.login)
	s.statsRoutes()
	s.volumeRoutes()
	s.networkRoutes()
	for _, p := range notImplemented {
		s.handle(p, func(_ http.ResponseWriter, r *http.Request) error {
			return errorf(http.StatusNotImplemented, "lade serve does not implement %s %s yet", r.Method, r.URL.Path)
		})
	}
	s.handle("/", func(_ http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotFound, "page not found: lade serve has no endpoint %s %s", r.Method, r.URL.Path)
	})
}

// notImplemented are the Engine API's endpoints lade has the objects for
// but serves later.
var notImplemented = []string{
	"GET /containers/{id}/attach/ws",
	"GET /images/search",
	"POST /session",
	"GET /distribution/{name...}",
}

// errShutdown is how Serve reports a server that Close stopped.
var errShutdown = errors.New("server stopped")

// Serve answers on every listener until ctx ends, then closes them and
// waits for the requests in flight to finish.
func (s *Server) Serve(ctx context.Context, ls []Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: readHeaderTimeout}
	errc := make(chan error, len(ls))
	for _, l := range ls {
		go func() {
			err := srv.Serve(l.Listener)
			if errors.Is(err, http.ErrServerClosed) {
				err = errShutdown
			}
			errc <- fmt.Errorf("serving %s: %w", l.Host, err)
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if srv.Shutdown(shut) != nil {
		srv.Close() // streams that follow logs or wait end here
	}
	if errors.Is(err, errShutdown) {
		return nil
	}
	return err
}
