package apiserver

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/lade-build/lade/sysinfo"
)

// The Engine API versions lade serves: from docker 20.10's (the client of
// Debian's docker.io) to the version of the types lade fills.
const (
	MinVersion = sysinfo.MinAPIVersion
	MaxVersion = sysinfo.APIVersion
)

// splitVersion splits "/v1.41/containers/json" into the path after the
// version and the version; ok is false for a path without one.
func splitVersion(p string) (rest, version string, ok bool) {
	if !strings.HasPrefix(p, "/v") {
		return p, "", false
	}
	v, rest, _ := strings.Cut(p[2:], "/")
	if _, _, ok := parseVersion(v); !ok {
		return p, "", false
	}
	return "/" + rest, v, true
}

// parseVersion reads "MAJOR.MINOR".
func parseVersion(v string) (major, minor int, ok bool) {
	a, b, found := strings.Cut(v, ".")
	maj, err1 := strconv.Atoi(a)
	mnr, err2 := strconv.Atoi(b)
	return maj, mnr, found && err1 == nil && err2 == nil
}

// lessVersion says whether a is older than b.
func lessVersion(a, b string) bool {
	amaj, amin, _ := parseVersion(a)
	bmaj, bmin, _ := parseVersion(b)
	return amaj < bmaj || amaj == bmaj && amin < bmin
}

// versionKey holds a request's API version in its context.
type versionKey struct{}

// requestVersion is the API version r asked for: its path's, or the
// newest for a path without one.
func requestVersion(r *http.Request) string {
	if v, ok := r.Context().Value(versionKey{}).(string); ok {
		return v
	}
	return MaxVersion
}

// checkVersion refuses versions outside [MinVersion, MaxVersion] with
// dockerd's words and status.
func checkVersion(v string) error {
	if lessVersion(MaxVersion, v) {
		return errorf(http.StatusBadRequest, "client version %s is too new. Maximum supported API version is %s", v, MaxVersion)
	}
	if lessVersion(v, MinVersion) {
		return errorf(http.StatusBadRequest, "client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", v, MinVersion)
	}
	return nil
}

func (s *Server) systemRoutes() {
	ping := func(w http.ResponseWriter, r *http.Request) error {
		h := w.Header()
		h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
		h.Set("Pragma", "no-cache")
		h.Set("Builder-Version", "1") // the classic builder's API, no BuildKit session
		if r.Method == http.MethodHead {
			h.Set("Content-Type", "text/plain; charset=utf-8")
			h.Set("Content-Length", "0")
			return nil
		}
		_, err := w.Write([]byte("OK"))
		return err
	}
	s.handle("GET /_ping", ping)
	s.handle("HEAD /_ping", ping)
	s.handle("GET /version", func(w http.ResponseWriter, _ *http.Request) error {
		return writeJSON(w, http.StatusOK, sysinfo.Version().Server)
	})
	s.handle("GET /info", func(w http.ResponseWriter, r *http.Request) error {
		info, err := sysinfo.Collect(r.Context(), sysinfo.Stores{Root: s.o.Root, Containers: s.stores.Containers,
			Images: s.o.Images, Snapshots: s.o.Snapshots})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, info)
	})
}
