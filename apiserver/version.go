package apiserver

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/system"
	"golang.org/x/sys/unix"
)

// MinVersion is the oldest Engine API lade serves: docker 20.10's, the
// client of Debian's docker.io.
const MinVersion = "1.41"

// MaxVersion is the newest: the version of the Engine API types lade
// fills (github.com/moby/moby/api v1.57.0 describes API 1.57 in its
// swagger.yaml; the module has no constant for it).
const MaxVersion = "1.57"

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
		return writeJSON(w, http.StatusOK, Version())
	})
}

// Version is GET /version's answer for this lade.
func Version() system.VersionResponse {
	v, commit := ladeVersion(), vcsRevision()
	var u unix.Utsname
	kernel := ""
	if unix.Uname(&u) == nil {
		kernel = unix.ByteSliceToString(u.Release[:])
	}
	return system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "lade"},
		Version:       v,
		APIVersion:    MaxVersion,
		MinAPIVersion: MinVersion,
		Os:            runtime.GOOS,
		Arch:          runtime.GOARCH,
		GoVersion:     runtime.Version(),
		KernelVersion: kernel,
		GitCommit:     commit,
		Components: []system.ComponentVersion{{Name: "Engine", Version: v, Details: map[string]string{
			"ApiVersion": MaxVersion, "MinAPIVersion": MinVersion, "Os": runtime.GOOS, "Arch": runtime.GOARCH,
			"GoVersion": runtime.Version(), "KernelVersion": kernel, "Experimental": "false", "GitCommit": commit,
		}}},
	}
}

// vcsRevision is the commit lade was built from, "" when unknown.
func vcsRevision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" && len(kv.Value) >= 7 {
				return kv.Value[:7]
			}
		}
	}
	return ""
}
