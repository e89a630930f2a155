package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/lade-build/lade/container"
	"github.com/lade-build/lade/engine"
	"github.com/lade-build/lade/images"
	"github.com/lade-build/lade/network"
)

// apiError is an error with the HTTP status docker answers it with.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status, fmt.Sprintf(format, args...)}
}

// badParameter is docker's 400 for a request it cannot use.
func badParameter(err error) error {
	return &apiError{http.StatusBadRequest, err.Error()}
}

// noSuch is docker's 404 for ref of kind ("container", "image"...) when
// err says the store has none, else err.
func noSuch(kind, ref string, err error) error {
	for _, nf := range []error{container.ErrNotFound, images.ErrNotFound, network.ErrNotFound,
		container.ErrVolumeNotFound, engine.ErrNotFound} {
		if errors.Is(err, nf) {
			if kind == "volume" {
				return errorf(http.StatusNotFound, "get %s: no such volume", ref)
			}
			return errorf(http.StatusNotFound, "No such %s: %s", kind, ref)
		}
	}
	return err
}

// conflicts are the words of the stores' errors that dockerd answers
// with 409 Conflict: an object in use, running or taken.
var conflicts = []string{"conflict:", "already in use", "is running", "already running", "is in use",
	"already exists", "is being removed", "is not running", "already paused", "is not paused"}

// statusOf is the HTTP status of err as dockerd would answer it.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status
	}
	if noSuch("", "", err) != err {
		return http.StatusNotFound
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "conflicting options") || strings.HasPrefix(msg, "invalid") {
		return http.StatusBadRequest
	}
	for _, c := range conflicts {
		if strings.Contains(msg, c) {
			return http.StatusConflict
		}
	}
	if errors.Is(err, images.ErrRemoteNotFound) {
		return http.StatusNotFound
	}
	if errors.Is(err, images.ErrUnauthorized) || errors.Is(err, images.ErrDenied) {
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// writeError answers err in docker's shape: {"message": "..."}.
func writeError(w http.ResponseWriter, err error) {
	_ = writeJSON(w, statusOf(err), map[string]string{"message": err.Error()})
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// writeBody writes v as JSON after the status line was sent.
func writeBody(w http.ResponseWriter, v any) error {
	return writeOnly(json.NewEncoder(w).Encode(v))
}

// readJSON decodes the request's body into v; an empty body leaves v.
func readJSON(r *http.Request, v any) error {
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return errorf(http.StatusBadRequest, "invalid JSON body: %v", err)
	}
	return nil
}
